"""Offline conformance checks: CDA_Pharma.xsd and the eHDSI schematrons (our own compiler).

Entry points: :func:`ncp.validation.validator.validate_document` and the CLI function
:func:`ncp.validation.cli.validate_command` (``ncp validate``).
"""
