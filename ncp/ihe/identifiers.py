"""Patient and instance identifiers as IHE writes them.

- XDS/XCA/XDR carry a patient as an HL7 v2 CX string ``extension^^^&root&ISO``
  (IHE ITI TF-3 4.2.3.1.7, "patientId").
- HL7 v3 (XCPD) carries identifiers as ``II``: ``root`` (an HL7 ``uid``: OID, UUID or RUID)
  and ``extension``.

Why a type and not a string: a malformed identifier must be refused once, at the edge, and the
services then compare typed values (the TRC's patient against the queried one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ncp.ihe._xml import is_oid
from ncp.ihe.errors import PatientIdError

#: What a CX component may not hold: the CX component, subcomponent, repetition and escape
#: separators (HL7 v2.5 2.5.4) and control characters. Anything else is the assigning
#: authority's business: German peers write KVNR and access code as ``X110571344|ABC123``.
#: Our own matricules are checked strictly where they are looked up (13 digits, check digits).
_FORBIDDEN = re.compile(r"[\^&~\\\x00-\x1f\x7f-\x9f]")
#: The assigning authority namespace (CX.4.1) is a name: no separators, no whitespace.
_FORBIDDEN_NAMESPACE = re.compile(r"[\^&~\\|\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, kw_only=True, slots=True)
class II:
    """An HL7 v3 instance identifier."""

    root: str
    extension: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientId:
    """A patient identifier: ``extension`` in the domain ``root`` (assigning authority OID)."""

    extension: str
    root: str

    def __post_init__(self) -> None:
        ext = self.extension
        if not ext.strip() or _FORBIDDEN.search(ext) or len(ext) > 256:
            raise PatientIdError("patient id extension is empty or holds CX separators or "
                                 "control characters")
        if not is_oid(self.root):
            raise PatientIdError("assigning authority is not an OID")

    @property
    def cx(self) -> str:
        """The CX form ``extension^^^&root&ISO``."""
        return f"{self.extension}^^^&{self.root}&ISO"

    @property
    def ii(self) -> II:
        return II(root=self.root, extension=self.extension)

    @classmethod
    def from_cx(cls, value: str, *, location: str = "") -> PatientId:
        """Parse ``extension^^^&root&ISO`` strictly (an assigning authority namespace before
        the first ``&`` is tolerated and dropped)."""
        parts = value.strip().split("^")
        if len(parts) != 4 or parts[1] or parts[2]:
            raise PatientIdError("patient id is not extension^^^&root&ISO", location=location)
        authority = parts[3].split("&")
        if len(authority) != 3 or authority[2] != "ISO":
            raise PatientIdError("assigning authority is not &root&ISO", location=location)
        if _FORBIDDEN_NAMESPACE.search(authority[0]):
            raise PatientIdError("assigning authority namespace is malformed", location=location)
        try:
            return cls(extension=parts[0], root=authority[1])
        except PatientIdError as exc:
            raise PatientIdError(exc.detail, location=location) from None

    @classmethod
    def from_query_value(cls, value: str, *, location: str = "") -> PatientId:
        """Parse a stored query parameter value: the CX string in single quotes."""
        v = value.strip()
        if len(v) < 2 or v[0] != "'" or v[-1] != "'":
            raise PatientIdError("patient id parameter must be quoted", location=location)
        return cls.from_cx(v[1:-1], location=location)
