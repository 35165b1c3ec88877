"""Where the eHDSI specification artefacts (schemas, schematrons, value sets) are found.

They are published data kept beside the project (``../shared/specs`` in a checkout and in CI), not
copied into the repository. ``NCP_SPECS_DIR`` points elsewhere, e.g. in a deployment image.
"""

from __future__ import annotations

from pathlib import Path

from ncp.settings import default_specs_dir

SCHEMATRON_RELEASE = "schematron/ehdsi-artdecor-20240422T073854"
CDA_XSD = "xsd/cda-ehdsi-pharma/CDA_Pharma.xsd"


def specs_dir() -> Path:
    """The specification folder: ``$NCP_SPECS_DIR`` or ``<checkout>/../shared/specs``."""
    return default_specs_dir()
