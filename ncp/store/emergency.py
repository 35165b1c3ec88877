"""Break the glass by matricule, with one answer for an unknown matricule and a refused one.

Why (issue 14 item 13): a professional may try break-the-glass on any matricule. A record they
may not open even so (the patient blocked them, the DSP is closed, their limit is reached) is
refused with 403; an unknown matricule was refused with 403 too, but differently: before the
input was checked (a blank reason gave 400 for a known matricule, 403 for an unknown one) and
with no write at all (the refusal of a known one writes and commits an access-log row, a
measurably slower answer). Matricules encode birth dates and can be enumerated, so the answers
must not tell which exist.

:func:`declare_emergency` therefore checks the input first, the same way for both, and for an
unknown matricule writes the same refusal row a refused record gets (patient unknown, the
check in ``detail``) in one committed transaction before answering the same
:class:`~ncp.store.errors.AccessDenied`: same status, same body, same class of work (one
durable write). The attempt is kept, too: break-the-glass on matricules that do not exist is
what an enumeration looks like in the access log.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ncp.store.errors import AccessDenied, InvalidInput, NotFound
from ncp.store.policy import Actor
from ncp.store.vocabulary import (
    AccessAction,
    AccessContext,
    ActorKind,
    EmergencyReason,
    Outcome,
)

if TYPE_CHECKING:
    from ncp.store.dsp import Records

__all__ = ["UNKNOWN_MATRICULE", "check_input", "declare_emergency"]

#: The refusal's reason, kept in the access log (never sent: the answer is the same as for a
#: record one may not open).
UNKNOWN_MATRICULE = "no DSP for this matricule"


def check_input(actor: Actor, reason: str, reason_code: EmergencyReason | str
                ) -> EmergencyReason:
    """The checks :meth:`~ncp.store.relationships.RelationshipRecords.declare_emergency` makes
    of the request alone (it makes them again), here before anything about the patient is
    looked at: the same order, so the same answer, for every matricule."""
    if actor.kind is not ActorKind.PROFESSIONAL or actor.professional_id is None:
        raise InvalidInput("only a professional may declare an emergency access")
    if len(reason.strip()) < 5:
        raise InvalidInput("an emergency access needs a stated reason")
    try:
        return EmergencyReason(reason_code)
    except ValueError:
        raise InvalidInput(f"unknown emergency reason code {reason_code!r}") from None


def declare_emergency(records: Records, actor: Actor, matricule: str, reason: str,
                      reason_code: EmergencyReason | str = EmergencyReason.OTHER
                      ) -> dt.datetime:
    """Break the glass on ``matricule`` (``Records.declare_emergency``); an unknown matricule
    is refused exactly as a record the professional may not open."""
    check_input(actor, reason, reason_code)
    try:
        patient_id = records.patient_id(matricule)
    except NotFound:
        with records._tx() as s:
            records._log(s, actor, None, AccessAction.POLICY, "emergency access declared",
                         AccessContext.EMERGENCY, Outcome.DENIED, detail=UNKNOWN_MATRICULE)
        raise AccessDenied(UNKNOWN_MATRICULE) from None
    return records.declare_emergency(actor, patient_id, reason, reason_code)
