"""``ncp pki ...``: create the development PKI and list every configured certificate.

Mounted by the lead in ``ncp/cli.py`` as ``app.add_typer(pki_app, name="pki")``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import typer
from cryptography import x509

from ncp.security.pki import CRL_REFRESH_MARGIN, init_pki
from ncp.security.truststore import certificate_country, load_trust_list
from ncp.settings import Settings, get_settings

__all__ = ["CertificateEntry", "certificate_inventory", "pki_app"]

#: Certificates closer than this to expiry are flagged.
WARN_BELOW = dt.timedelta(days=30)
#: The second country of the development PKI (peer gateway in tests and the demo).
TEST_COUNTRY = "BE"

pki_app = typer.Typer(help="Development PKI and certificate inventory.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """One configured certificate, as ``ncp pki list`` shows it."""

    purpose: str
    country: str
    subject: str
    not_after: dt.datetime
    path: Path
    #: CRLs are re-issued often; they are flagged only when a refresh is overdue.
    warn_below: dt.timedelta = WARN_BELOW

    def days_left(self, now: dt.datetime) -> int:
        return (self.not_after - now).days

    def expiring(self, now: dt.datetime) -> bool:
        return self.not_after - now < self.warn_below


def _load(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def certificate_inventory(settings: Settings) -> tuple[list[CertificateEntry], list[str]]:
    """Our own certificates and every trusted anchor; also the problems met reading them."""
    entries: list[CertificateEntry] = []
    problems: list[str] = []
    own = [
        ("own tls-server", settings.tls_cert_path),
        ("own tls-client", settings.own_pki_file("tls-client.pem")),
        ("own signing", settings.signing_cert_path),
    ]
    for purpose, path in own:
        try:
            for cert in _load(path):
                entries.append(CertificateEntry(purpose, certificate_country(cert) or "?",
                                                cert.subject.rfc4514_string(),
                                                cert.not_valid_after_utc, path))
        except (OSError, ValueError) as exc:
            problems.append(f"{purpose}: cannot read {path}: {exc}")
    try:
        trust_list = load_trust_list(settings.trust_list_path)
    except ValueError as exc:
        problems.append(str(exc))
        return entries, problems
    for cc, country in sorted(trust_list.countries.items()):
        for anchor in country.anchors:
            cert = anchor.certificate
            entries.append(CertificateEntry(
                "anchor " + ",".join(sorted(anchor.purposes)), cc,
                cert.subject.rfc4514_string(), cert.not_valid_after_utc, anchor.path))
        if len(country.crls) < len(country.crl_paths):
            problems.append(f"{cc}: a configured CRL cannot be read")
        for crl in country.crls:
            if crl.next_update_utc is not None:
                entries.append(CertificateEntry("crl next update", cc,
                                                crl.issuer.rfc4514_string(), crl.next_update_utc,
                                                settings.trust_list_path, CRL_REFRESH_MARGIN))
    return entries, problems


@pki_app.command("init")
def init_command() -> None:
    """Create or complete the development PKI (our country and the test country BE)."""
    settings = get_settings()
    countries = list(dict.fromkeys([settings.country_code.upper(), TEST_COUNTRY]))
    init_pki(settings.pki_root, countries, card_issuer=settings.country_code.upper())
    typer.echo(f"development PKI for {', '.join(countries)} ready under {settings.pki_root}")
    typer.echo(f"trust list: {settings.trust_list_path}")


@pki_app.command("list")
def list_command() -> None:
    """List every configured certificate with its expiry; warn below 30 days."""
    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    entries, problems = certificate_inventory(settings)
    typer.echo(f"{'PURPOSE':<38} {'CC':<3} {'EXPIRES':<11} {'DAYS':>5}  SUBJECT")
    for e in entries:
        flag = "  WARNING: expires in less than 30 days" if e.expiring(now) else ""
        typer.echo(f"{e.purpose:<38} {e.country:<3} {e.not_after:%Y-%m-%d} "
                   f"{e.days_left(now):>5}  {e.subject}{flag}")
    for p in problems:
        typer.echo(f"problem: {p}", err=True)
    if problems:
        raise typer.Exit(1)
