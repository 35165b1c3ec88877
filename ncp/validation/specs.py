"""Where the eHDSI specification artefacts (schemas, schematrons, value sets) are found.

They are published data kept beside the project (``../shared/specs`` in a checkout and in CI), not
copied into the repository. ``NCP_SPECS_DIR`` points elsewhere, e.g. in a deployment image.
"""

from __future__ import annotations

import os
from pathlib import Path

import ncp

SCHEMATRON_RELEASE = "schematron/ehdsi-artdecor-20240422T073854"
CDA_XSD = "xsd/cda-ehdsi-pharma/CDA_Pharma.xsd"


def specs_dir() -> Path:
    """The specification folder: ``$NCP_SPECS_DIR`` or ``<checkout>/../shared/specs``."""
    configured = os.environ.get("NCP_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(ncp.__file__).resolve().parents[2] / "shared" / "specs"
