"""The ePrescription service of the responding gateway: dispensable ePrescriptions for XCA,
eDispensations and discards received through XDR."""

from ncp.eprescription.dispensation import InvalidDispensation, read_dispensation
from ncp.eprescription.service import (
    EPrescriptionService,
    PrescriptionQuery,
    SubmittedDispensation,
    metadata_of,
)

__all__ = [
    "EPrescriptionService",
    "InvalidDispensation",
    "PrescriptionQuery",
    "SubmittedDispensation",
    "metadata_of",
    "read_dispensation",
]
