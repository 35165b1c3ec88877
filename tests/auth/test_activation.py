"""Activation letters on SQLite and PostgreSQL: a DSP the register opened is activated once,
with a good code, before its end; expired, reused, replaced and guessed codes are refused, the
attempts counted across addresses; before activation the patient's login is refused while the
professionals' rules apply from the start. A settable clock stands in for time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from ncp.auth import totp
from ncp.auth.activation import TICKET_LIFETIME, Activation, new_code, normalise_code
from ncp.auth.passwords import Passwords, make_hasher
from ncp.auth.service import Authenticator, AuthError
from ncp.registry.insured import InsuredPerson
from ncp.store import matricule
from ncp.store.activation import ActivationLetter
from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.models import AccessLogEntry, Patient
from ncp.store.population import Population
from ncp.store.records import Records
from tests.auth.test_service import Clock
from tests.store.factories import professional

PASSWORD = "correct horse battery"
ANNA = matricule.make(dt.date(1970, 5, 1), 11)
BEN = matricule.make(dt.date(1988, 12, 24), 502)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(any_db_engine: Engine, keyring: KeyRing, clock: Clock) -> Activation:
    records = Records(session_factory(any_db_engine), keyring, clock=clock)
    auth = Authenticator(session_factory(any_db_engine), records, clock=clock,
                         passwords=Passwords(make_hasher(cheap=True)))
    Population(session_factory(any_db_engine), clock=clock).apply([
        InsuredPerson(1, ANNA, "Anna", "Weber", dt.date(1970, 5, 1), "F", "1 rue Haute",
                      "L-1234", "Luxembourg"),
        InsuredPerson(2, BEN, "Ben", "Klein", dt.date(1988, 12, 24), "M")])
    return Activation(auth)


def activate(service: Activation, clock: Clock, matricule: str, code: str,
             client: str = "10.0.0.1") -> int:
    ticket = service.start(matricule, code, client)
    return service.finish(ticket.token, password=PASSWORD, totp_secret=ticket.totp_secret,
                          code=totp.code_at(ticket.totp_secret, clock.now), client=client)


def log_in(service: Activation, clock: Clock, login: str, secret: str) -> None:
    auth = service.auth
    token = auth.start_password(login, PASSWORD, "10.0.0.9")
    clock.advance(seconds=30)
    auth.finish_totp(token, totp.code_at(secret, clock.now), "10.0.0.9")


def test_a_letter_activates_the_dsp_once_and_the_person_logs_in(service: Activation,
                                                                clock: Clock) -> None:
    (anna, ben) = service.issue()
    assert {anna.recipient.matricule, ben.recipient.matricule} == {ANNA, BEN}
    assert anna.recipient.street == "1 rue Haute" and anna.expires_at > clock.now
    assert service.issue() == []  # a valid letter is not sent twice
    with service.letters._sessions() as s:  # only hashes are kept
        stored = set(s.scalars(select(ActivationLetter.code_hash)))
    assert anna.code not in str(stored) and normalise_code(anna.code) not in str(stored)
    # typed in lower case with spaces, an O for a zero: still the code
    typed = anna.code.lower().replace("-", " ").replace("0", "o")
    ticket = service.start(ANNA, typed, "10.0.0.1")
    assert ticket.recipient.given_name == "Anna"
    account_id = service.finish(ticket.token, password=PASSWORD,
                                totp_secret=ticket.totp_secret,
                                code=totp.code_at(ticket.totp_secret, clock.now))
    account = service.auth.store.by_id(account_id)
    assert account is not None and account.login == ANNA and account.kind == "patient"
    with service.letters._sessions() as s:
        patient = s.scalar(select(Patient).where(Patient.matricule == ANNA))
        assert patient is not None and patient.activated_at == clock.now
        assert s.scalar(select(func.count()).select_from(AccessLogEntry).where(
            AccessLogEntry.patient_id == patient.id,
            AccessLogEntry.what == "DSP activated with the activation letter")) == 1
    log_in(service, clock, ANNA, ticket.totp_secret)
    # the code is used up; the same ticket does not make a second account
    with pytest.raises(AuthError) as used:
        service.start(ANNA, anna.code, "10.0.0.1")
    assert used.value.reason == "activation-used"
    with pytest.raises(AuthError) as again:
        service.finish(ticket.token, password=PASSWORD, totp_secret=ticket.totp_secret,
                       code=totp.code_at(ticket.totp_secret, clock.now))
    assert again.value.reason == "activation-expired"
    assert [r.matricule for r in service.letters.recipients()] == []  # Ben still has his


def test_expired_replaced_and_other_persons_codes_are_refused(service: Activation,
                                                              clock: Clock) -> None:
    letters = {x.recipient.matricule: x for x in service.issue(lifetime=dt.timedelta(days=30))}
    with pytest.raises(AuthError) as crossed:  # Ben's code with Anna's matricule
        service.start(ANNA, letters[BEN].code)
    assert crossed.value.reason == "activation-invalid"
    (newer,) = service.issue([ANNA], reissue=True)
    with pytest.raises(AuthError) as replaced:
        service.start(ANNA, letters[ANNA].code)
    assert replaced.value.reason == "activation-replaced"
    clock.advance(days=31)
    with pytest.raises(AuthError) as expired:
        service.start(BEN, letters[BEN].code)
    assert expired.value.reason == "activation-expired"
    assert activate(service, clock, ANNA, newer.code)  # issued later, still good


def test_a_ticket_expires_and_a_wrong_app_code_creates_nothing(service: Activation,
                                                               clock: Clock) -> None:
    (letter,) = service.issue([ANNA])
    ticket = service.start(ANNA, letter.code)
    with pytest.raises(AuthError) as wrong:
        service.finish(ticket.token, password=PASSWORD, totp_secret=ticket.totp_secret,
                       code="000000" if totp.code_at(ticket.totp_secret, clock.now) != "000000"
                       else "111111")
    assert wrong.value.reason == "activation-totp"
    with pytest.raises(ValueError):
        service.finish(ticket.token, password="short", totp_secret=ticket.totp_secret,
                       code=totp.code_at(ticket.totp_secret, clock.now))
    clock.advance(seconds=TICKET_LIFETIME.total_seconds() + 1)
    with pytest.raises(AuthError) as late:
        service.finish(ticket.token, password=PASSWORD, totp_secret=ticket.totp_secret,
                       code=totp.code_at(ticket.totp_secret, clock.now))
    assert late.value.reason == "activation-expired"
    assert service.auth.store.by_login(ANNA) is None
    assert activate(service, clock, ANNA, letter.code)  # the letter itself is still good


def test_guessing_is_slowed_down_across_addresses_until_even_the_right_code_waits(
        service: Activation, clock: Clock) -> None:
    (letter,) = service.issue([ANNA])
    free = service.auth.policy.free_attempts
    for n in range(free):  # each from another address: the matricule's own count grows
        with pytest.raises(AuthError) as guessed:
            service.start(ANNA, new_code(), f"10.1.0.{n}")
        assert guessed.value.reason == "activation-invalid"
    with pytest.raises(AuthError) as locked:
        service.start(ANNA, letter.code, "10.2.0.1")
    assert locked.value.reason == "locked" and locked.value.retry_after is not None
    clock.advance(seconds=locked.value.retry_after.total_seconds())
    assert activate(service, clock, ANNA, letter.code, "10.2.0.1")


def test_before_activation_the_login_is_refused_but_professionals_have_their_rules(
        service: Activation, clock: Clock) -> None:
    auth, records = service.auth, service.auth.records
    pid = records.patient_id(BEN)
    # an account made for the DSP some other way does not log in before the activation
    auth.create_account(login="ben.klein", password=PASSWORD, kind="patient",
                        display_name="Ben Klein", patient_id=pid)
    with pytest.raises(AuthError) as refused:
        auth.start_password("ben.klein", PASSWORD, "10.0.0.1")
    assert refused.value.reason == "not-activated"
    with pytest.raises(AuthError) as wrong:  # a wrong password says nothing of activation
        auth.start_password("ben.klein", PASSWORD + "x", "10.0.0.1")
    assert wrong.value.reason == "invalid"
    doctor = professional(records)
    records.declare_relationship(doctor, pid, "visit")
    records.add_document(doctor, pid, doc_type="visit-report", title="Visit note",
                         media_type="text/plain", content=b"seen today")
    assert [d.title for d in records.list_documents(doctor, pid)] == ["Visit note"]
    service.letters.mark_activated(pid, "enrolled by an operator: test")
    assert auth.start_password("ben.klein", PASSWORD, "10.0.0.1")
