"""Transcoding between the national CDA profile and the eHDSI pivot (see transcoder)."""

from ncp.transform.transcoder import (
    TranscodeResult,
    TranscodeWarning,
    TranscodingError,
    to_national,
    to_pivot,
)

__all__ = ["TranscodeResult", "TranscodeWarning", "TranscodingError", "to_national", "to_pivot"]
