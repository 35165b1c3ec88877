"""The SAML assertion replay cache, in the database so that every gateway process shares it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import lru_cache

from sqlalchemy import Engine, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ncp.store.models import AssertionReplay, UtcDateTime
from ncp.store.unit import Query, unit


def purge_expired(session: Session, *, now: dt.datetime) -> int:
    """Delete ids whose lifetime is over; returns how many."""
    result = session.execute(delete(AssertionReplay).where(AssertionReplay.not_on_or_after <= now))
    return int(result.rowcount or 0)


def register_assertions(
    engine: Engine, entries: Sequence[tuple[str, dt.datetime]], *, now: dt.datetime,
    companions: Mapping[str, str] | None = None,
) -> str | None:
    """Record every (key, NotOnOrAfter) of one request, in one statement.

    Returns the first key already seen within its lifetime, and then keeps none of the keys of
    this request, else None. ``companions`` maps a reusable key to its companion key (present
    in ``entries`` too, see :class:`ncp.security.replay.DatabaseReplayCache`): a seen key whose
    companion is seen as well is the same content again, a reuse, not a replay; the companion
    itself is never reported.

    How: an upsert that inserts each new id, takes over the row of an id whose lifetime is
    over, and leaves a live id alone; ``RETURNING`` names the ids it wrote, so a missing one
    is a replay. Two processes racing with the same id serialise on its primary key: the
    second sees the first's committed, live row and reports the replay. The statement commits
    by itself (one round trip on PostgreSQL); on a replay a second statement removes the ids
    it has just written, so a refused request leaves no id behind.
    """
    if not entries:
        return None
    params: dict[str, object] = {"now": now}
    for i, (aid, until) in enumerate(entries):
        params[f"id{i}"] = aid
        params[f"until{i}"] = until
    with unit(engine, single_statements=True) as u:
        written = [r[0] for r in u.write(_upsert(engine.dialect.name, len(entries)),
                                         params).rows()]
        pairs = companions or {}
        own = set(pairs.values())
        replayed = next((aid for aid, _ in entries if aid not in own and aid not in written
                         and (aid not in pairs or pairs[aid] in written)), None)
        if replayed is not None and written:
            u.write(_forget(len(written)),
                    {f"id{i}": aid for i, aid in enumerate(written)} | {"now": now})
    return replayed


@lru_cache(maxsize=16)
def _forget(n: int) -> Query:
    """Delete ``n`` ids written at ``now`` by a request found to be a replay."""
    return Query(delete(AssertionReplay).where(
        AssertionReplay.assertion_id.in_([bindparam(f"id{i}") for i in range(n)]),
        AssertionReplay.seen_at == bindparam("now", type_=UtcDateTime())))


@lru_cache(maxsize=16)
def _upsert(dialect: str, n: int) -> Query:
    """The upsert of ``n`` ids for ``dialect`` (PostgreSQL and SQLite share the syntax)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = bindparam("now", type_=UtcDateTime())
    statement = insert(AssertionReplay).values([
        {"assertion_id": bindparam(f"id{i}"),
         "not_on_or_after": bindparam(f"until{i}", type_=UtcDateTime()),
         "seen_at": now}
        for i in range(n)])
    statement = statement.on_conflict_do_update(
        index_elements=[AssertionReplay.assertion_id],
        set_={"not_on_or_after": statement.excluded.not_on_or_after,
              "seen_at": statement.excluded.seen_at},
        where=AssertionReplay.not_on_or_after <= now,
    ).returning(AssertionReplay.assertion_id)
    return Query(statement)
