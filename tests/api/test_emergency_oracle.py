"""Break the glass is no oracle of which matricules exist (issue 14 item 13), over the real
server (HTTPS), in the API and the portal.

Nicolas Reuter's DSP is closed: break-the-glass on it is refused. An unknown matricule must be
answered exactly the same: the same status and body (error ids aside) for a valid request and
for an invalid one (a blank reason was 422/400 for Nicolas but 403 for the unknown matricule,
since the input was checked only once the patient was found), and the same work: one refusal
row in the access log, committed (the unknown one wrote nothing and answered faster). The work
is compared as the statements the server ran, since tests are not timed.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import event, func, select

from ncp import demo
from ncp.store.models import AccessLogEntry
from tests.api.test_api import bearer, is_problem
from tests.portal.live import Live, csrf

NICOLAS = demo.PATIENTS[4].patient.matricule  # closed DSP
UNKNOWN = "1999010100017"
_WRITE = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", re.IGNORECASE)


@contextmanager
def writes(live: Live) -> Iterator[Counter[str]]:
    """The write statements and commits the server's engine runs meanwhile (the chain
    sealer's, which may run any minute, aside)."""
    engine = live.app.state.runtime.engine  # type: ignore[attr-defined]
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def statement(conn, cursor, sql, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        found = _WRITE.match(sql)
        if found and "chain" not in sql:
            with lock:
                seen[f"{found.group(1).upper()} {found.group(2)}"] += 1

    def commit(conn) -> None:  # type: ignore[no-untyped-def]
        with lock:
            seen["COMMIT"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def log_rows(live: Live) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AccessLogEntry)).scalar() or 0)


def compare(live: Live, call: Callable[[str], httpx.Response]
            ) -> tuple[httpx.Response, httpx.Response]:
    """Call for Nicolas and for the unknown matricule; the same writes, one log row each."""
    answers, work = [], []
    for matricule in (NICOLAS, UNKNOWN):
        before = log_rows(live)
        with writes(live) as seen:
            answers.append(call(matricule))
        work.append(seen)
        assert log_rows(live) == before + (1 if answers[-1].status_code == 403 else 0)
    assert work[0] == work[1], work
    return answers[0], answers[1]


def _shape(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k not in ("error_id", "instance")}


def test_the_api_answers_break_the_glass_alike(live: Live) -> None:
    gp = bearer(live, "lu-hp-100001")
    for body, status in (({"reason_code": "unconscious", "reason": "unconscious at the ER"},
                          403),
                         ({"reason_code": "unconscious", "reason": "      "}, 422)):
        denied, unknown = compare(live, lambda m, body=body: gp.post(  # type: ignore[misc]
            f"/api/v1/patients/{m}/emergency", json=body))
        assert _shape(is_problem(denied, status)) == _shape(is_problem(unknown, status))
    with writes(live) as seen:
        is_problem(gp.post(f"/api/v1/patients/{UNKNOWN}/emergency",
                           json={"reason_code": "unconscious", "reason": "found on the floor"}),
                   403)
    assert seen["INSERT INTO access_log"] == 1 and seen["COMMIT"] >= 1, seen


def test_the_portal_answers_break_the_glass_alike(live: Live) -> None:
    gp = live.login("lu-hp-100001")
    token = csrf(gp.get(f"/portal/pro/patients/{NICOLAS}").text)
    for reason, status in (("unconscious at the ER", 403), ("x", 400)):
        denied, unknown = compare(live, lambda m, reason=reason: gp.post(  # type: ignore[misc]
            f"/portal/pro/patients/{m}/emergency", data={"reason": reason, "csrf": token}))
        assert denied.status_code == unknown.status_code == status
        assert _page(denied.text, NICOLAS) == _page(unknown.text, UNKNOWN)


def _page(html: str, matricule: str) -> str:
    """The page with the matricule and the error id (a fresh one per refusal) taken out."""
    return re.sub(r"#[0-9a-f]{12}", "#ID", html.replace(matricule, "M"))
