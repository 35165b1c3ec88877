"""The development PKI: one CA per country with TLS server, TLS client and signing certificates.

Why a self-generated PKI: the gateway must run and be tested without eHDSI's central PKI, yet
every trust rule (chain to the country's anchor, key usage, country in the subject, revocation)
has to be exercised for real. ``init_pki`` writes, per country::

    <root>/<cc>/ca.pem ca.key ca.crl               country CA and its (signed) revocation list
    <root>/<cc>/tls-server.pem tls-server.key      serverAuth, SAN DNS:localhost, IP:127.0.0.1
    <root>/<cc>/tls-client.pem tls-client.key      clientAuth
    <root>/<cc>/signing.pem signing.key            digitalSignature + nonRepudiation (SAML, WSS)
    <root>/trust-list.json                          trusted anchors and CRLs per country/purpose

and for our own country (the first) the professional-card CA ``<root>/<cc>/card-ca/`` (ca.pem,
ca.key, ca.crl), trusted for the ``card`` purpose only.

It is idempotent: files that exist and are still valid (not expired, issued by the current CA)
are kept; anything missing or invalid is (re)issued. Private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "LEAF_KINDS",
    "TRUST_LIST_FORMAT",
    "IssuedCertificate",
    "PrivateKey",
    "generate_key",
    "init_pki",
    "issue_ca",
    "issue_leaf",
    "revoke",
    "write_crl",
]

#: Leaf certificates issued under every country CA (file stem -> purpose).
LEAF_KINDS: tuple[str, ...] = ("tls-server", "tls-client", "signing")
TRUST_LIST_FORMAT = "ncp-trust-list/1"

CA_LIFETIME = dt.timedelta(days=5 * 365)
LEAF_LIFETIME = dt.timedelta(days=2 * 365)
CRL_LIFETIME = dt.timedelta(days=30)
#: A CRL closer than this to its nextUpdate is re-issued by ``init_pki``.
CRL_REFRESH_MARGIN = dt.timedelta(days=7)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate: x509.Certificate
    key: PrivateKey


def generate_key(kind: str = "rsa") -> PrivateKey:
    """RSA-2048 (what eHDSI peers expect) or ECDSA P-256."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(country: str, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country.upper()),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"NCPeH {country.upper()} (development)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _now() -> dt.datetime:
    """The one clock development material is made from (tests set it to theirs)."""
    return dt.datetime.now(dt.UTC)


#: New material is valid from a little before the instant it is made for, so that a peer whose
#: clock is a few minutes behind accepts it at once.
CLOCK_SKEW = dt.timedelta(minutes=5)


def issue_ca(
    country: str,
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    common_name: str | None = None,
) -> IssuedCertificate:
    """A self-signed country CA (pathLen 0: it issues leaves only)."""
    key = key or generate_key()
    start = not_before or _now() - CLOCK_SKEW
    name = _name(country, common_name or f"NCPeH {country.upper()} development CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return IssuedCertificate(cert, key)


def issue_leaf(
    ca: IssuedCertificate,
    purpose: str,
    *,
    country: str | None = None,
    common_name: str | None = None,
    key: PrivateKey | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue a ``tls-server``, ``tls-client`` or ``signing`` certificate under ``ca``.

    ``country`` defaults to the CA's country; tests pass another one to forge a signer that
    claims a country its CA does not belong to.
    """
    if purpose not in LEAF_KINDS:
        raise ValueError(f"unknown certificate purpose {purpose!r}")
    ca_country = ca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    cc = (country or str(ca_country)).upper()
    key = key or generate_key()
    start = not_before or _now() - CLOCK_SKEW
    cn = common_name or {"tls-server": "localhost"}.get(purpose, f"ncp-{cc.lower()}-{purpose}")
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cc, cn))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.certificate.public_key()), critical=False)  # type: ignore[arg-type]
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    signing = purpose == "signing"
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=True, content_commitment=signing,
        key_encipherment=not signing and isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False), critical=True)
    if purpose == "tls-server":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    elif purpose == "tls-client":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return IssuedCertificate(cert, key)


# --- files -------------------------------------------------------------------------------------

def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _save(folder: Path, stem: str, issued: IssuedCertificate) -> None:
    _write_private(folder / f"{stem}.key", _key_pem(issued.key))
    _write_public(folder / f"{stem}.pem",
                  issued.certificate.public_bytes(serialization.Encoding.PEM))


def _load(folder: Path, stem: str) -> IssuedCertificate | None:
    try:
        cert = x509.load_pem_x509_certificate((folder / f"{stem}.pem").read_bytes())
        key = serialization.load_pem_private_key((folder / f"{stem}.key").read_bytes(), None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        return None
    return IssuedCertificate(cert, key)


def _still_valid(cert: x509.Certificate, now: dt.datetime,
                 issuer: x509.Certificate | None = None) -> bool:
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        return False
    if issuer is not None:
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError):
            return False
    return True


def write_crl(
    folder: Path,
    ca: IssuedCertificate,
    revoked: Iterable[tuple[int, dt.datetime]] = (),
    *,
    now: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
) -> x509.CertificateRevocationList:
    """(Re)write ``<folder>/ca.crl`` (PEM), signed by ``ca``, listing ``revoked`` serials."""
    now = now or _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(next_update or now + CRL_LIFETIME)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    crl = builder.sign(ca.key, hashes.SHA256())
    _write_public(folder / "ca.crl", crl.public_bytes(serialization.Encoding.PEM))
    return crl


def _existing_revocations(folder: Path, ca: IssuedCertificate) -> list[tuple[int, dt.datetime]]:
    try:
        crl = x509.load_pem_x509_crl((folder / "ca.crl").read_bytes())
    except (OSError, ValueError):
        return []
    if crl.issuer != ca.certificate.subject or not crl.is_signature_valid(
            ca.certificate.public_key()):  # type: ignore[arg-type]
        return []
    return [(r.serial_number, r.revocation_date_utc) for r in crl]


def revoke(root: Path, country: str, certificate: x509.Certificate,
           *, now: dt.datetime | None = None, card: bool = False) -> None:
    """Add ``certificate`` to the CRL of ``country``'s development CA (``card``: of its
    professional-card CA)."""
    folder = Path(root) / country.lower()
    if card:
        folder = folder / CARD_CA_FOLDER
    ca = _load(folder, "ca")
    if ca is None:
        raise FileNotFoundError(f"no development CA for {country} under {root}")
    when = now or _now()
    revoked = _existing_revocations(folder, ca)
    if certificate.serial_number not in {s for s, _ in revoked}:
        revoked.append((certificate.serial_number, when))
    write_crl(folder, ca, revoked, now=when)


def _ensure_ca(folder: Path, country: str, now: dt.datetime,
               common_name: str | None = None) -> tuple[IssuedCertificate, bool]:
    """The CA kept in ``folder``, issued anew when missing or within a quarter of a leaf's
    lifetime of expiry (so no leaf outlives its issuer); ``True`` when it is new."""
    ca = _load(folder, "ca")
    if ca is not None and _still_valid(ca.certificate, now) and \
            ca.certificate.not_valid_after_utc - now >= LEAF_LIFETIME / 4:
        return ca, False
    ca = issue_ca(country, not_before=now - CLOCK_SKEW, common_name=common_name)
    _save(folder, "ca", ca)
    (folder / "ca.crl").unlink(missing_ok=True)
    return ca, True


def _ensure_crl(folder: Path, ca: IssuedCertificate, now: dt.datetime) -> None:
    """Rewrite the CA's CRL unless the one on disk is its own, validly signed and not near
    its next update; revocations already listed are kept."""
    try:
        crl = x509.load_pem_x509_crl((folder / "ca.crl").read_bytes())
        crl_ok = (crl.issuer == ca.certificate.subject
                  and crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]
                  and crl.next_update_utc is not None
                  and crl.next_update_utc - now > CRL_REFRESH_MARGIN)
    except (OSError, ValueError):
        crl_ok = False
    if not crl_ok:
        write_crl(folder, ca, _existing_revocations(folder, ca), now=now)


def _init_country(root: Path, country: str, now: dt.datetime) -> None:
    folder = root / country.lower()
    ca, fresh_ca = _ensure_ca(folder, country, now)
    for kind in LEAF_KINDS:
        leaf = None if fresh_ca else _load(folder, kind)
        if leaf is None or not _still_valid(leaf.certificate, now, ca.certificate):
            _save(folder, kind, issue_leaf(ca, kind, country=country,
                                           not_before=now - CLOCK_SKEW))
    _ensure_crl(folder, ca, now)


#: Sub-folder of our own country's folder with the professional-card issuing CA.
CARD_CA_FOLDER = "card-ca"


def card_ca_name(country: str) -> str:
    return f"{country.upper()} health professional card development CA"


def _init_card_ca(root: Path, country: str, now: dt.datetime) -> None:
    """The issuer of professional cards: a CA of its own, never a gateway anchor.

    Why separate: the country CA's anchor is trusted for gateway TLS and signatures; a card
    issued under it was taken for a gateway (security review, issue 14 item 5). Cards chain to
    this CA, whose anchor is listed for the ``card`` purpose only, with its own CRL.
    """
    folder = root / country.lower() / CARD_CA_FOLDER
    ca, _ = _ensure_ca(folder, country, now, common_name=card_ca_name(country))
    _ensure_crl(folder, ca, now)


def _card_entry(cc: str) -> tuple[dict[str, object], str]:
    return ({"certificate": f"{cc.lower()}/{CARD_CA_FOLDER}/ca.pem", "purposes": ["card"]},
            f"{cc.lower()}/{CARD_CA_FOLDER}/ca.crl")


def _country_entry(cc: str) -> dict[str, object]:
    return {
        "anchors": [{"certificate": f"{cc.lower()}/ca.pem",
                     "purposes": ["signing", "tls-client", "tls-server"]}],
        "crls": [f"{cc.lower()}/ca.crl"],
        "require_crl": True,
    }


def _init_trust_list(root: Path, countries: Sequence[str],
                     card_issuer: str | None = None) -> None:
    path = root / "trust-list.json"
    data: dict[str, object]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != TRUST_LIST_FORMAT or \
                not isinstance(data.get("countries"), dict):
            raise ValueError("not a trust list")
    except (OSError, ValueError):
        data = {"format": TRUST_LIST_FORMAT, "countries": {}}
    entries = data["countries"]
    assert isinstance(entries, dict)
    changed = not path.exists()
    for cc in countries:
        if cc.upper() not in entries:
            entries[cc.upper()] = _country_entry(cc)
            changed = True
    if card_issuer is not None:
        entry = entries[card_issuer.upper()]
        anchor, crl = _card_entry(card_issuer)
        if anchor not in entry.setdefault("anchors", []):
            entry["anchors"].append(anchor)
            changed = True
        if crl not in entry.setdefault("crls", []):
            entry["crls"].append(crl)
            changed = True
    if changed:
        _write_public(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def init_pki(root: Path, countries: Sequence[str] = ("LU", "BE"),
             *, now: dt.datetime | None = None, card_issuer: str | None = "") -> None:
    """Create or complete the development PKI under ``root`` (idempotent, see module doc).

    ``card_issuer``: the country whose professional-card CA is made (``<cc>/card-ca/``),
    by default the first of ``countries`` (ours); None for none.

    ``now`` is the instant the material is made from (default: the real clock). Tests pass their
    one clock so that the certificates, the CRLs and the messages they sign agree on the time.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    now = now or _now()
    for cc in countries:
        if len(cc) != 2 or not cc.isalpha():
            raise ValueError(f"not an ISO 3166 alpha-2 country code: {cc!r}")
        _init_country(root, cc.upper(), now)
    if card_issuer == "":
        card_issuer = countries[0] if countries else None
    if card_issuer is not None:
        _init_card_ca(root, card_issuer.upper(), now)
    _init_trust_list(root, [cc.upper() for cc in countries], card_issuer)
