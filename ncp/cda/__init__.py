"""CDA documents: kinds, the national profile and its generator, demo content, eDispensation."""
