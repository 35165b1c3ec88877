"""IHE transactions of eHDSI: the registry, identifiers, codes and typed message models.

No I/O here: models parse from and build to lxml elements (the SOAP Body child); the SOAP layer
(:mod:`ncp.soap`) wraps them in envelopes and MIME.
"""
