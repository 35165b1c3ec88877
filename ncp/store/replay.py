"""The SAML assertion replay cache, in the database so that every gateway process shares it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from ncp.store.models import AssertionReplay, UtcDateTime


def purge_expired(session: Session, *, now: dt.datetime) -> int:
    """Delete ids whose lifetime is over; returns how many."""
    result = session.execute(delete(AssertionReplay).where(AssertionReplay.not_on_or_after <= now))
    return int(result.rowcount or 0)


def register_assertions(
    session: Session, entries: Sequence[tuple[str, dt.datetime]], *, now: dt.datetime
) -> str | None:
    """Record every (assertion id, NotOnOrAfter) of one request in a few statements.

    Returns the first id already seen within its lifetime (and writes nothing), else None. The
    caller owns the transaction; a concurrent insert of the same id fails on the primary key
    (:class:`~sqlalchemy.exc.IntegrityError`), which the caller reports as a replay.
    """
    ids = [aid for aid, _ in entries]
    conn = session.connection()  # Core statements: no ORM bookkeeping on this hot path
    live = set(conn.execute(_LIVE, {"ids": ids, "now": now}).scalars())
    for aid in ids:
        if aid in live:
            return aid
    conn.execute(_FORGET, {"ids": ids})
    conn.execute(_REMEMBER, [
        {"assertion_id": aid, "not_on_or_after": until, "seen_at": now}
        for aid, until in entries])
    return None


_LIVE = select(AssertionReplay.assertion_id).where(
    AssertionReplay.assertion_id.in_(bindparam("ids", expanding=True)),
    AssertionReplay.not_on_or_after > bindparam("now", type_=UtcDateTime()))
_FORGET = delete(AssertionReplay).where(
    AssertionReplay.assertion_id.in_(bindparam("ids", expanding=True)))
_REMEMBER = insert(AssertionReplay)
