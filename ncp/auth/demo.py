"""Logins for the demo data of ``ncp demo``: every demo patient and professional, and a helper.

The password and the TOTP secret are fixed and published here on purpose, so that a person
trying the demo can log in with any authenticator app (enter the secret, or scan the URI).
Never use them outside a development database: ``seed_accounts`` refuses in production.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from sqlalchemy import Engine

from ncp import demo
from ncp.auth import totp
from ncp.auth.activation import Activation
from ncp.auth.cards import issue_card, load_ca, write_card
from ncp.auth.certificates import ca_identity
from ncp.auth.passwords import Passwords, make_hasher
from ncp.auth.service import Authenticator
from ncp.security.pki import CARD_CA_FOLDER
from ncp.store.db import session_factory
from ncp.store.dsp import Records

DEMO_PASSWORD = "dsp-demo-password"  # noqa: S105  (published on purpose)
#: Base32 TOTP secret shared by every demo login (RFC 6238, SHA-1, 6 digits, 30 s).
DEMO_TOTP_SECRET = "NCPDEMOLUXEMBOURGDSP2345"  # noqa: S105
HELPER_LOGIN = "helper.demo"


def patient_login(matricule: str) -> str:
    """A patient logs in with their matricule (the login an activation gives)."""
    return matricule.lower()


def professional_login(registry_id: str) -> str:
    return registry_id.lower()


def seed_accounts(records: Records, engine: Engine, *, cheap_hashes: bool = False,
                  environment: str = "development", pki_root: Path | None = None) -> int:
    """Give every demo patient and professional a login (idempotent); returns how many were
    created. The helper ``helper.demo`` acts for the first demo patient. With ``pki_root``
    (the development PKI), the first professional also gets a card under
    ``<pki_root>/lu/cards/``, registered by CA and subject serial."""
    if environment == "production":
        raise RuntimeError("demo logins are never created in production")
    auth = Authenticator(session_factory(engine), records,
                         passwords=Passwords(make_hasher(cheap=cheap_hashes)))
    created = 0
    for prof in demo.PROFESSIONALS:
        login = professional_login(prof.registry_id)
        if auth.store.by_login(login) is None:
            auth.create_account(login=login, password=DEMO_PASSWORD, kind="professional",
                                display_name=f"{prof.given_name} {prof.family_name}",
                                totp_secret=DEMO_TOTP_SECRET,
                                professional_id=records.professional_id(prof.registry_id))
            created += 1
    for rec in demo.PATIENTS:
        p = rec.patient
        if auth.store.by_login(patient_login(p.matricule)) is None:
            _activate(auth, p.matricule)
            created += 1
    if auth.store.by_login(HELPER_LOGIN) is None:
        helper_id = auth.create_account(login=HELPER_LOGIN, password=DEMO_PASSWORD,
                                        kind="helper", display_name="Anna Schmit (aidante)",
                                        totp_secret=DEMO_TOTP_SECRET)
        first = records.patient_id(demo.PATIENTS[0].patient.matricule)
        auth.store.add_helper(first, helper_id, records._clock(), "manage")
        created += 1
    if pki_root is not None:
        _demo_card(auth, pki_root)
    return created


def _activate(auth: Authenticator, matricule: str) -> None:
    """The person's activation of their DSP, through the same path as everyone's: a letter is
    issued, its code entered, then the password and the authenticator's code (the published
    demo ones)."""
    activation = Activation(auth)
    (letter,) = activation.issue([matricule], reissue=True)
    ticket = activation.start(matricule, letter.code, "demo")
    activation.finish(ticket.token, password=DEMO_PASSWORD, totp_secret=DEMO_TOTP_SECRET,
                      code=totp.code_at(DEMO_TOTP_SECRET, auth.records.clock()),
                      client="demo")


def login_lines() -> list[str]:
    """Every login :func:`seed_accounts` creates, as ``ncp demo`` prints them (a test compares
    them with the accounts of a seeded database)."""
    lines = ["demo patients (login = matricule, name):"]
    for rec in demo.PATIENTS:
        p = rec.patient
        notes = ", ".join(rec.consents) if rec.consents else "no cross-border consent"
        if rec.closed:
            notes += ", DSP closed"
        lines.append(f"  {patient_login(p.matricule)}  {p.given_name} {p.family_name}  ({notes})")
    lines.append("demo professionals (login = registry id in lower case, name, profession):")
    lines += [f"  {professional_login(prof.registry_id)}  {prof.given_name} {prof.family_name}  "
              f"({prof.profession})" for prof in demo.PROFESSIONALS]
    first = demo.PATIENTS[0].patient
    lines.append(f"demo assistant: {HELPER_LOGIN}  (acts for {first.given_name} "
                 f"{first.family_name})")
    return lines


def card_path(pki_root: Path) -> Path:
    login = professional_login(demo.PROFESSIONALS[0].registry_id)
    return pki_root / "lu" / "cards" / f"{login}.p12"


def _demo_card(auth: Authenticator, pki_root: Path) -> None:
    """A card for the first demo professional (kept if present), registered by issuer and
    subject serial so that a re-issued card still logs in."""
    prof = demo.PROFESSIONALS[0]
    login = professional_login(prof.registry_id)
    ca_folder = pki_root / "lu" / CARD_CA_FOLDER
    if not _issued_by_card_ca(card_path(pki_root).with_suffix(".pem"), ca_folder):
        # missing, or made by an older demo under the country CA (a gateway anchor, no card)
        card = issue_card(load_ca(ca_folder), common_name=f"{prof.given_name} "
                          f"{prof.family_name}", registry_id=prof.registry_id)
        write_card(card, card_path(pki_root).parent, login, DEMO_PASSWORD)
    account = auth.store.by_login(login)
    assert account is not None
    ca_pem = (ca_folder / "ca.pem").read_text()
    if auth.store.by_certificate(fingerprint="-", issuer=ca_identity(ca_pem),
                                 subject_serial=prof.registry_id) is None:
        auth.register_certificate(account.id, issuer_ca=ca_pem, subject_serial=prof.registry_id)


def _issued_by_card_ca(card_pem: Path, ca_folder: Path) -> bool:
    try:
        card = x509.load_pem_x509_certificate(card_pem.read_bytes())
        ca = x509.load_pem_x509_certificate((ca_folder / "ca.pem").read_bytes())
        card.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return True


def instructions(base_url: str, pki_root: Path | None = None) -> list[str]:
    """What ``ncp demo`` prints so that a person can log in to the portal."""
    first = demo.PATIENTS[0].patient
    gp = demo.PROFESSIONALS[0]
    return [
        f"portal: {base_url}/portal/login   API: {base_url}/api/docs",
        f"  every demo login has the password {DEMO_PASSWORD!r} and the TOTP secret "
        f"{DEMO_TOTP_SECRET}",
        "  (add it to any authenticator app: "
        f"{totp.provisioning_uri(DEMO_TOTP_SECRET, 'demo', 'DSP demo')})",
        f"  patients log in with their matricule (e.g. {patient_login(first.matricule)}), "
        f"professionals with their registry id in lower case (e.g. "
        f"{professional_login(gp.registry_id)}), the assistant of {first.given_name} "
        f"{first.family_name} with {HELPER_LOGIN!r}",
    ] + ([f"  {gp.given_name} {gp.family_name}'s professional card (import it in the browser, "
          f"password {DEMO_PASSWORD!r}): {card_path(pki_root)}"]
         if pki_root is not None and card_path(pki_root).exists() else [])
