# ruff: noqa: B008  (typer declares options as argument defaults)
"""``ncp assertion issue``: signed eHDSI assertions for a foreign team's own tests.

A contact point preparing to go live with Luxembourg needs assertions that our gateway would
send: the HCP identity assertion of one of our (test) professionals, the treatment relationship
(TRC) for a (test) patient, optionally a next-of-kin assertion, in the eHDSI layout and signed
by our signing key, so that it can run its responding gateway against them without waiting
for a test session. They are the very assertions the portal issues (:class:`AssertionIssuer`),
written as one ``wsse:Security`` element in the order the eHDSI profile gives (NoK, HCP, TRC)
and never re-indented (the signatures cover the bytes as serialised).

Refused when ``NCP_ENVIRONMENT=production`` unless the signer is a *test* signer: a key and
certificate given with ``--signer-key``/``--signer-cert`` whose certificate is not the gateway's
own signing certificate and whose subject names itself a test signer (an organizational unit
``TEST``). A production gateway must never hand out assertions that a peer would take as real
professionals acting for real patients.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from ncp.settings import Settings, get_settings

__all__ = ["TestSignerRefused", "assertion_app", "is_test_signer", "issue_bundle"]

assertion_app = typer.Typer(help="Assertions for foreign gateways' tests.", no_args_is_help=True)

_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


class TestSignerRefused(Exception):
    """Production gateway, and no test signer was given."""

    __test__ = False  # not a pytest test class


def is_test_signer(cert: x509.Certificate, own_signing_cert: x509.Certificate | None) -> bool:
    """A certificate that says it signs for tests (OU=TEST), and is not the gateway's own."""
    if own_signing_cert is not None and cert.public_key() == own_signing_cert.public_key():
        return False
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return any(str(u.value).strip().upper() == "TEST" for u in units)


@dataclass(frozen=True, slots=True)
class Bundle:
    """The issued assertions (NoK optional) and the one element that carries them."""

    hcp: etree._Element
    trc: etree._Element
    nok: etree._Element | None
    security: etree._Element

    def serialise(self) -> bytes:
        return etree.tostring(self.security)


def issue_bundle(settings: Settings, *, registry_id: str, patient_cx: str, purpose: str,
                 now: dt.datetime, lifetime: dt.timedelta, prescription_id: str | None = None,
                 nok_id: str | None = None, signer_key: Path | None = None,
                 signer_cert: Path | None = None) -> Bundle:
    """Issue HCP + TRC (+ NoK) for the registered professional ``registry_id``."""
    from ncp.peers.assertions import AssertionIssuer, Professional
    from ncp.security.keys import load_credentials
    from ncp.security.saml import NokClaims, build_nok_assertion
    from ncp.store.db import make_engine, session_factory
    from ncp.store.peers import professional_card_by_registry_id

    if (signer_key is None) != (signer_cert is None):
        raise typer.BadParameter("--signer-key and --signer-cert go together")
    key_path = signer_key or settings.signing_key_path
    cert_path = signer_cert or settings.signing_cert_path
    if settings.environment == "production":
        own = None
        if settings.signing_cert_path.is_file():
            own = x509.load_pem_x509_certificate(settings.signing_cert_path.read_bytes())
        if signer_cert is None or not is_test_signer(
                x509.load_pem_x509_certificate(signer_cert.read_bytes()), own):
            raise TestSignerRefused(
                "a production gateway issues test assertions only with a test signer "
                "(--signer-key/--signer-cert, certificate subject OU=TEST, not the gateway's "
                "own signing certificate)")
    credentials = load_credentials(key_path, cert_path)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        card = professional_card_by_registry_id(session_factory(engine), registry_id)
    finally:
        engine.dispose()
    issuer = AssertionIssuer(country=settings.country_code, credentials=credentials)
    who = Professional(card, "card")
    hcp = issuer.hcp(who, purpose=purpose, now=now, lifetime=lifetime)
    trc = issuer.trc(hcp, patient_cx=patient_cx, purpose=purpose, now=now, lifetime=lifetime,
                     prescription_id=prescription_id)
    nok = None
    if nok_id:
        nok = build_nok_assertion(
            NokClaims(subject_id=card.registry_id, hcp_assertion_id=hcp.get("ID") or "",
                      nok_id=nok_id),
            issuer=f"urn:initgw:{settings.country_code}:countryB", credentials=credentials,
            now=now, lifetime=lifetime)
    security = etree.Element(f"{{{_WSSE}}}Security", nsmap={"wsse": _WSSE})
    for a in (nok, hcp, trc):
        if a is not None:
            security.append(a)
    return Bundle(hcp, trc, nok, security)


@assertion_app.command("issue")
def issue(
    professional: str = typer.Option(..., "--professional", help="registry id, e.g. LU-HP-100001"),
    patient: str = typer.Option(..., "--patient",
                                help="the patient as HL7 CX, e.g. ID^^^&OID&ISO"),
    purpose: str = typer.Option("TREATMENT", help="TREATMENT or EMERGENCY"),
    minutes: int = typer.Option(60, min=1, max=240, help="lifetime (eHDSI: at most 4 h)"),
    prescription: str | None = typer.Option(None, help="prescription id (eD submit/discard)"),
    nok: str | None = typer.Option(None, "--nok-id", help="also a next-of-kin assertion"),
    signer_key: Path | None = typer.Option(None, exists=True, dir_okay=False),
    signer_cert: Path | None = typer.Option(None, exists=True, dir_okay=False),
    out: Path | None = typer.Option(None, "--out", help="file (default: standard output)"),
) -> None:
    """Signed HCP and TRC (and NoK) assertions in one wsse:Security element."""
    from ncp.store.errors import NotFound

    if purpose not in ("TREATMENT", "EMERGENCY"):
        raise typer.BadParameter("purpose is TREATMENT or EMERGENCY")
    if "^^^" not in patient:
        raise typer.BadParameter("the patient is an HL7 CX: ID^^^&ROOT-OID&ISO")
    settings = get_settings()
    try:
        bundle = issue_bundle(settings, registry_id=professional, patient_cx=patient,
                              purpose=purpose, now=dt.datetime.now(dt.UTC),
                              lifetime=dt.timedelta(minutes=minutes),
                              prescription_id=prescription, nok_id=nok,
                              signer_key=signer_key, signer_cert=signer_cert)
    except TestSignerRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    except NotFound:
        typer.echo(f"no registered professional {professional!r}", err=True)
        raise typer.Exit(1) from None
    data = bundle.serialise()
    if out is None:
        sys.stdout.buffer.write(data + b"\n")
    else:
        out.write_bytes(data)
        typer.echo(f"written {out} (HCP {bundle.hcp.get('ID')}, TRC {bundle.trc.get('ID')}"
                   + (f", NoK {bundle.nok.get('ID')}" if bundle.nok is not None else "") + ")")
