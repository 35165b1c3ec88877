"""Authentication rules on a real database: two factors, rate limits, expiry, cards, helpers,
tokens. A settable clock stands in for time; everything else is the real thing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine, select

from ncp.auth import totp
from ncp.auth.certificates import CardVerifier
from ncp.auth.passwords import Passwords, make_hasher
from ncp.auth.service import Authenticator, AuthError
from ncp.security.pki import IssuedCertificate, generate_key, issue_ca, issue_leaf, write_crl
from ncp.store.accounts import LoginEvent
from ncp.store.crypto import KeyRing
from ncp.store.db import session_factory
from ncp.store.records import Records
from tests.clock import NOW
from tests.store.factories import patient, professional

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def setup(any_db_engine: Engine, keyring: KeyRing, clock: Clock
          ) -> tuple[Authenticator, Records]:
    records = Records(session_factory(any_db_engine), keyring, clock=clock)
    auth = Authenticator(session_factory(any_db_engine), records, clock=clock,
                         passwords=Passwords(make_hasher(cheap=True)))
    return auth, records


def enrol_patient(auth: Authenticator, records: Records, login: str = "jean") -> int:
    pid, _ = patient(records)
    auth.create_account(login=login, password=PASSWORD, kind="patient", display_name="Jean S",
                        patient_id=pid)
    return pid


def code(auth: Authenticator, login: str, clock: Clock, steps: int = 0) -> str:
    account = auth.store.by_login(login)
    assert account is not None
    return totp.code_at(account.totp_secret, clock.now + dt.timedelta(seconds=30 * steps))


def events(auth: Authenticator) -> list[tuple[str, str, str]]:
    with auth.store._sessions() as s:
        return [(e.login, e.method, e.outcome)
                for e in s.scalars(select(LoginEvent).order_by(LoginEvent.id))]


def test_password_then_totp_gives_a_patient_session(setup, clock: Clock) -> None:
    auth, records = setup
    pid = enrol_patient(auth, records)
    token = auth.start_password("Jean", PASSWORD, "10.0.0.1")  # logins are case-insensitive
    assert auth.principal(token) is None  # not before the second factor
    principal = auth.finish_totp(token, code(auth, "jean", clock), "10.0.0.1")
    assert principal.actor.kind.value == "patient" and principal.patient_id == pid
    assert auth.principal(token) is not None
    assert events(auth) == [("jean", "password", "success"), ("jean", "totp", "success")]


def test_a_totp_code_is_accepted_once(setup, clock: Clock) -> None:
    auth, records = setup
    enrol_patient(auth, records)
    first = auth.start_password("jean", PASSWORD)
    the_code = code(auth, "jean", clock)
    auth.finish_totp(first, the_code)
    second = auth.start_password("jean", PASSWORD)
    with pytest.raises(AuthError):
        auth.finish_totp(second, the_code)
    assert events(auth)[-1] == ("jean", "totp", "failure")
    auth.finish_totp(second, code(auth, "jean", clock, steps=1))  # the next step is fine


def outcomes(auth: Authenticator, method: str = "password") -> list[str]:
    return [o for _, m, o in events(auth) if m == method]


def test_failures_back_off_with_growing_delays_per_login_and_address(setup,
                                                                     clock: Clock) -> None:
    """Issue 14 finding 6: no hard lock; each attempt past the free ones waits twice as long."""
    auth, records = setup
    enrol_patient(auth, records)
    free = auth.policy.free_attempts
    for _ in range(free):
        with pytest.raises(AuthError, match="wrong login or password"):
            auth.start_password("jean", "not the password", "192.0.2.7")
    waits = []
    for _ in range(4):
        with pytest.raises(AuthError) as locked:  # even the right password waits its turn
            auth.start_password("jean", PASSWORD, "192.0.2.7")
        assert locked.value.reason == "locked" and locked.value.retry_after is not None
        waits.append(locked.value.retry_after)
        clock.advance(seconds=locked.value.retry_after.total_seconds())
        with pytest.raises(AuthError, match="wrong login or password"):
            auth.start_password("jean", "still not it", "192.0.2.7")
    assert waits == [dt.timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert outcomes(auth).count("failure") == free + 4
    # Somebody else's guesses never block Jean at his own address...
    token = auth.start_password("jean", PASSWORD, "198.51.100.1")
    auth.finish_totp(token, code(auth, "jean", clock), "198.51.100.1")
    # ...and after a quiet window the pair starts afresh.
    clock.advance(minutes=16)
    assert auth.start_password("jean", PASSWORD, "192.0.2.7")


def test_one_address_failing_for_many_logins_does_not_block_the_others(
        setup, clock: Clock) -> None:
    """A hospital behind one NAT address: 30 failures of others do not lock Jean out there."""
    auth, records = setup
    enrol_patient(auth, records)
    for i in range(30):
        with pytest.raises(AuthError, match="wrong login or password"):
            auth.start_password(f"user-{i}", "guess guess guess", "192.0.2.7")
    token = auth.start_password("jean", PASSWORD, "192.0.2.7")
    assert auth.finish_totp(token, code(auth, "jean", clock), "192.0.2.7")


def test_parallel_wrong_passwords_get_only_the_free_evaluations(setup, clock: Clock) -> None:
    """60 parallel guesses of one (login, address): each attempt is claimed in the database
    before its password is checked, so only the free attempts are evaluated (the old check of
    past failures let 19 of 60 through with a limit of 5)."""
    from concurrent.futures import ThreadPoolExecutor

    auth, records = setup
    enrol_patient(auth, records)

    def guess(i: int) -> str:
        try:
            auth.start_password("jean", f"guess number {i}", "203.0.113.9")
        except AuthError as exc:
            return exc.reason
        return "accepted"

    with ThreadPoolExecutor(max_workers=12) as pool:
        reasons = list(pool.map(guess, range(60)))
    assert reasons.count("invalid") == auth.policy.free_attempts
    assert reasons.count("locked") == 60 - auth.policy.free_attempts
    assert outcomes(auth).count("failure") == auth.policy.free_attempts
    # The right password from Jean's own address is not affected.
    assert auth.start_password("jean", PASSWORD, "198.51.100.1")


def test_unknown_login_fails_like_a_wrong_password(setup) -> None:
    auth, _ = setup
    with pytest.raises(AuthError) as exc:
        auth.start_password("nobody", PASSWORD)
    assert exc.value.reason == "invalid" and events(auth) == [("nobody", "password", "failure")]


def test_sessions_expire_when_idle_and_after_their_lifetime(setup, clock: Clock) -> None:
    auth, records = setup
    enrol_patient(auth, records)
    pending = auth.start_password("jean", PASSWORD)
    clock.advance(minutes=6)
    with pytest.raises(AuthError, match="expired"):
        auth.finish_totp(pending, code(auth, "jean", clock))
    token = auth.start_password("jean", PASSWORD)
    auth.finish_totp(token, code(auth, "jean", clock))
    alive = 0
    while auth.principal(token) is not None:  # active every 14 minutes
        alive += 1
        clock.advance(minutes=14)
        assert alive < 100
    assert alive == 35  # 34 * 14 min < 8 h < 35 * 14 min: the absolute lifetime ends it
    idle = auth.start_password("jean", PASSWORD)
    auth.finish_totp(idle, code(auth, "jean", clock, steps=1))
    clock.advance(minutes=16)
    assert auth.principal(idle) is None
    assert auth.principal("forged") is None and auth.principal("") is None


def test_logout_ends_the_session(setup, clock: Clock) -> None:
    auth, records = setup
    enrol_patient(auth, records)
    token = auth.start_password("jean", PASSWORD)
    auth.finish_totp(token, code(auth, "jean", clock))
    auth.logout(token)
    assert auth.principal(token) is None


def _card(serial: str | None, ca=None):  # type: ignore[no-untyped-def]
    ca = ca or issue_ca("LU")
    key = generate_key("ec")
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "LU"),
             x509.NameAttribute(NameOID.COMMON_NAME, "Marie Muller")]
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name(attrs))
            .issuer_name(ca.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.certificate.public_key()), critical=False)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca.key, hashes.SHA256()))

    return ca, cert.public_bytes(Encoding.PEM).decode()


def card_trust(folder: Path, ca: IssuedCertificate) -> CardVerifier:
    """A trust list with ``ca`` as the LU card issuer and its (empty, fresh) CRL."""
    (folder / "ca.pem").write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    write_crl(folder, ca, now=NOW)
    (folder / "trust.json").write_text(json.dumps({"countries": {"LU": {
        "anchors": [{"certificate": "ca.pem", "purposes": ["card"]}], "crls": ["ca.crl"]}}}))
    return CardVerifier.from_trust_list(folder / "trust.json", "LU")


def test_without_card_trust_no_card_logs_in(setup) -> None:
    auth, records = setup
    doctor = professional(records)
    account = auth.create_account(login="marie", password=PASSWORD, kind="professional",
                                  display_name="Marie Muller",
                                  professional_id=doctor.professional_id)
    _, pem = _card("LU-HP-778")
    auth.register_certificate(account, pem)
    with pytest.raises(AuthError, match="no card trust"):
        auth.login_certificate(pem)


def test_professional_card_by_fingerprint_or_issuer_and_serial(setup, tmp_path: Path) -> None:
    auth, records = setup
    doctor = professional(records)
    account = auth.create_account(login="marie", password=PASSWORD, kind="professional",
                                  display_name="Marie Muller",
                                  professional_id=doctor.professional_id)
    ca = issue_ca("LU")
    auth.cards = card_trust(tmp_path, ca)
    card_pem = issue_leaf(ca, "tls-client", common_name="Marie Muller").certificate
    pem = card_pem.public_bytes(Encoding.PEM).decode()
    with pytest.raises(AuthError):
        auth.login_certificate(pem)  # not registered yet
    auth.register_certificate(account, pem)
    token = auth.login_certificate(pem, "10.1.1.1")
    principal = auth.principal(token)
    assert principal is not None and principal.actor.professional_id == doctor.professional_id
    # A renewed card of the same issuer with the same subject serial number.
    auth.register_certificate(account, issuer_ca=ca.certificate.public_bytes(Encoding.PEM)
                              .decode(), subject_serial="LU-HP-777")
    _, renewed = _card("LU-HP-777", ca)
    assert auth.principal(auth.login_certificate(renewed)) is not None
    # The same serial from another issuer (e.g. a foreign gateway's CA) is not the doctor.
    _, forged = _card("LU-HP-777")
    with pytest.raises(AuthError):
        auth.login_certificate(forged)
    with pytest.raises(AuthError) as none:
        auth.login_certificate(None)
    assert none.value.reason == "no-certificate"


def test_a_helper_acts_for_the_patient_who_named_them(setup, clock: Clock) -> None:
    auth, records = setup
    pid = enrol_patient(auth, records)
    helper_id = auth.create_account(login="anna", password=PASSWORD, kind="helper",
                                    display_name="Anna")
    token = auth.start_password("anna", PASSWORD)
    lonely = auth.finish_totp(token, code(auth, "anna", clock))
    assert lonely.patient_id is None  # named by nobody yet
    jean_token = auth.start_password("jean", PASSWORD)
    jean = auth.finish_totp(jean_token, code(auth, "jean", clock))
    auth.name_helper(jean, "anna")
    auth.act_for(lonely, pid)
    helper = auth.principal(token)
    assert helper is not None and helper.acting_as_helper and helper.patient_id == pid
    assert helper.actor.name == "Anna"
    with pytest.raises(AuthError):
        auth.name_helper(helper, "jean")  # only the patient names assistants
    log = records.access_log(jean.actor, pid)
    assert log[0].what == "assistant named (read): Anna"
    auth.revoke_helper(jean, helper_id)
    assert auth.principal(token) is None  # the helper's session ended with the link
    with pytest.raises(AuthError):
        auth.act_for(lonely, pid)


def test_api_tokens_work_until_revoked_or_expired(setup, clock: Clock) -> None:
    auth, records = setup
    doctor = professional(records)
    account = auth.create_account(login="marie", password=PASSWORD, kind="professional",
                                  display_name="Marie Muller",
                                  professional_id=doctor.professional_id)
    token = auth.issue_token(account, "practice software")
    principal = auth.api_principal(bearer=token, pem=None)
    assert principal.actor.professional_id == doctor.professional_id
    with pytest.raises(AuthError):
        auth.api_principal(bearer=token + "x", pem=None)
    (tid, *_), = auth.store.tokens_of(account)
    assert auth.store.revoke_token(account, tid, clock.now)
    with pytest.raises(AuthError):
        auth.api_principal(bearer=token, pem=None)
    again = auth.issue_token(account, "second")
    clock.advance(days=91)
    with pytest.raises(AuthError):
        auth.api_principal(bearer=again, pem=None)


def test_accounts_refuse_bad_enrolment(setup) -> None:
    auth, records = setup
    pid, _ = patient(records)
    with pytest.raises(ValueError, match="at least"):
        auth.create_account(login="short", password="short", kind="patient",
                            display_name="x", patient_id=pid)
    with pytest.raises(ValueError):
        auth.create_account(login="x y", password=PASSWORD, kind="patient", display_name="x",
                            patient_id=pid)
    with pytest.raises(ValueError):
        auth.create_account(login="prof", password=PASSWORD, kind="professional",
                            display_name="x", patient_id=pid)
    auth.create_account(login="jean", password=PASSWORD, kind="patient", display_name="x",
                        patient_id=pid)
    with pytest.raises(ValueError, match="taken"):
        auth.create_account(login="JEAN", password=PASSWORD, kind="helper", display_name="x")
    stored = auth.store.by_login("jean")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_a_disabled_account_is_logged_out_and_cannot_log_in(setup, clock: Clock) -> None:
    auth, records = setup
    enrol_patient(auth, records)
    token = auth.start_password("jean", PASSWORD)
    principal = auth.finish_totp(token, code(auth, "jean", clock))
    auth.store.set_disabled(principal.account.id, clock.now)
    assert auth.principal(token) is None
    with pytest.raises(AuthError):
        auth.start_password("jean", PASSWORD)
    assert events(auth)[-1] == ("jean", "password", "failure")
    auth.store.set_disabled(principal.account.id, None)
    assert auth.start_password("jean", PASSWORD)


def test_totp_secrets_are_sealed_at_rest(setup, any_db_engine: Engine) -> None:
    auth, records = setup
    enrol_patient(auth, records)
    secret = auth.store.by_login("jean").totp_secret
    from ncp.store.accounts import Account

    with auth.store._sessions() as s:
        row = s.scalar(select(Account).where(Account.login == "jean"))
        assert secret.encode() not in row.totp_ciphertext
        tampered = bytearray(row.totp_ciphertext)
        tampered[0] ^= 1
        row.totp_ciphertext = bytes(tampered)
        s.commit()
    from ncp.store.errors import ContentTampered

    with pytest.raises(ContentTampered):
        auth.store.by_login("jean")
