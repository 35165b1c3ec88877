"""The national registers that feed the DSP: the insured population (social security)."""
