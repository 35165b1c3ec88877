"""Trust anchors per country and purpose, and the validation of a signer certificate.

The trust list (JSON, see ``certs/README.md``) names, per country, the anchor certificates and
the purposes they are trusted for (``signing``, ``tls-client``, ``tls-server``), the CRL files and
whether a CRL is required. Validating a certificate for (country, purpose) means:

1. the country is in the trust list and the certificate's subject says ``C=<country>``;
2. it is not self-signed, it is within its validity dates, and its key usage fits the purpose
   (RFC 5280: an absent KeyUsage or ExtendedKeyUsage does not restrict);
3. it chains (optionally through intermediates the peer sent) to an anchor of *that* country
   trusted for *that* purpose, each issuer being a CA allowed to sign certificates;
4. no certificate of the chain is on its issuer's CRL; a required CRL that is missing, stale or
   badly signed fails closed.

Why a hand-written path check rather than a web-PKI verifier: eHDSI certificates follow the
eHDSI certificate profile, not the CA/Browser Forum one, and trust must be scoped per country.
Results are cached per (certificate, country, purpose) until the trust list or one of its files
changes on disk, which is checked on every call: reloading needs no restart.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ncp.security.errors import CertificateError

__all__ = [
    "CountryTrust",
    "Purpose",
    "TrustList",
    "TrustStore",
    "certificate_country",
    "load_trust_list",
]


class Purpose(enum.StrEnum):
    SIGNING = "signing"
    TLS_CLIENT = "tls-client"
    TLS_SERVER = "tls-server"
    #: National health professional cards (TLS client certificates of people, not gateways).
    #: Anchors for it are listed apart from the gateway anchors, so a card is never a peer.
    CARD = "card"


@dataclass(frozen=True, slots=True)
class Anchor:
    country: str
    certificate: x509.Certificate
    purposes: frozenset[Purpose]
    path: Path


@dataclass(frozen=True, slots=True)
class CountryTrust:
    country: str
    anchors: tuple[Anchor, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    crl_paths: tuple[Path, ...]
    require_crl: bool
    #: Per-peer WS-Security policy, on top of the global floor (``NCP_REQUIRE_*``): for a peer
    #: known to sign its messages or to stamp them, so that an unsigned or unstamped message
    #: claiming to come from it is refused (docs/security.md, "WS-Security header policy").
    require_message_signature: bool = False
    require_timestamp: bool = False


@dataclass(frozen=True, slots=True)
class TrustList:
    path: Path
    countries: dict[str, CountryTrust] = field(default_factory=dict)

    def files(self) -> list[Path]:
        out = [self.path]
        for ct in self.countries.values():
            out.extend(a.path for a in ct.anchors)
            out.extend(ct.crl_paths)
        return out


def certificate_country(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(attrs[0].value).upper() if len(attrs) == 1 else None


@functools.lru_cache(maxsize=256)
def _peer_certificate(der: bytes) -> tuple[x509.Certificate, str | None]:
    """A TLS peer's certificate and subject country, parsed once per distinct DER.

    Why: the TLS layer hands the same client certificate with every request of a connection,
    and of every connection of that peer; parsing it each time was measurable. Only the parse
    is cached: :meth:`TrustStore.validate` still runs on every request.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise CertificateError("bad-certificate", "unreadable TLS peer certificate") from None
    return cert, certificate_country(cert)


def _load_certs(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _load_crl(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def load_trust_list(path: Path) -> TrustList:
    """Parse the trust list; paths inside are relative to its folder. Raises ValueError."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read trust list {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("countries"), dict):
        raise ValueError(f"{path}: a trust list is an object with a 'countries' object")
    base = path.parent
    countries: dict[str, CountryTrust] = {}
    for cc, entry in raw["countries"].items():
        cc = str(cc).upper()
        anchors = []
        for a in entry.get("anchors", []):
            apath = base / a["certificate"]
            purposes = frozenset(Purpose(p) for p in a.get("purposes", list(Purpose)))
            anchors.extend(Anchor(cc, cert, purposes, apath) for cert in _load_certs(apath))
        crl_paths = tuple(base / c for c in entry.get("crls", []))
        crls: list[x509.CertificateRevocationList] = []
        for cpath in crl_paths:
            try:
                crls.append(_load_crl(cpath))
            except (OSError, ValueError):
                continue  # a required CRL that is unreadable fails at validation time
        for flag in ("require_crl", "require_message_signature", "require_timestamp"):
            if flag in entry and not isinstance(entry[flag], bool):
                raise ValueError(f"{path}: {cc}.{flag} must be true or false")
        countries[cc] = CountryTrust(
            cc, tuple(anchors), tuple(crls), crl_paths, bool(entry.get("require_crl", True)),
            require_message_signature=bool(entry.get("require_message_signature", False)),
            require_timestamp=bool(entry.get("require_timestamp", False)))
    return TrustList(path, countries)


def _stamp(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


_EKU = {Purpose.TLS_CLIENT: ExtendedKeyUsageOID.CLIENT_AUTH,
        Purpose.TLS_SERVER: ExtendedKeyUsageOID.SERVER_AUTH,
        Purpose.CARD: ExtendedKeyUsageOID.CLIENT_AUTH}


def _check_usage(cert: x509.Certificate, purpose: Purpose) -> None:
    """RFC 5280 4.2.1.3 and 4.2.1.12: an absent KeyUsage or ExtendedKeyUsage does not restrict
    the key (the signing certificates the eHDSI CA issues carry no extensions at all); one that
    is present must allow the purpose."""
    try:
        ku: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    try:
        eku: x509.ExtendedKeyUsage | None = cert.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if purpose is Purpose.SIGNING:
        if ku is not None and not (ku.digital_signature or ku.content_commitment):
            raise CertificateError("key-usage", "not a signing certificate")
        if eku is not None and set(eku) <= {ExtendedKeyUsageOID.CLIENT_AUTH,
                                            ExtendedKeyUsageOID.SERVER_AUTH}:
            # a certificate restricted to TLS must not sign documents or messages
            raise CertificateError("key-usage", "a TLS certificate cannot sign")
    else:
        if ku is not None and not ku.digital_signature:
            raise CertificateError("key-usage", "digitalSignature is not allowed")
        if eku is not None and _EKU[purpose] not in eku \
                and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            raise CertificateError("key-usage", f"extended key usage does not allow {purpose}")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            raise CertificateError("key-usage", "a CA certificate cannot sign messages")
    except x509.ExtensionNotFound:
        pass


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(ku.key_cert_sign)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _dates(cert: x509.Certificate, now: dt.datetime, what: str) -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateError("certificate-not-yet-valid", f"{what} is not valid before "
                               f"{cert.not_valid_before_utc.isoformat()}")
    if now >= cert.not_valid_after_utc:
        raise CertificateError("certificate-expired",
                               f"{what} expired {cert.not_valid_after_utc.isoformat()}")


@dataclass(frozen=True, slots=True)
class _Verdict:
    chain: tuple[x509.Certificate, ...]
    not_before: dt.datetime
    not_after: dt.datetime


class TrustStore:
    """Validates certificates against the trust list at ``path`` (reloaded when it changes)."""

    def __init__(self, path: Path, *, refresh_interval: float = 1.0) -> None:
        """``refresh_interval``: seconds between checks of the files on disk (0: every call)."""
        self._path = Path(path)
        self._refresh_interval = refresh_interval
        self._checked_at = -1e18
        self._lock = threading.Lock()
        self._list: TrustList | None = None
        self._stamp: tuple[tuple[str, int, int], ...] = ()
        self._cache: dict[tuple[x509.Certificate, str, Purpose], _Verdict] = {}

    @property
    def trust_list(self) -> TrustList:
        self._refresh()
        assert self._list is not None
        return self._list

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._list is not None and now - self._checked_at < self._refresh_interval:
            return
        self._checked_at = now
        files = self._list.files() if self._list is not None else [self._path]
        stamp = _stamp(files)
        if self._list is not None and stamp == self._stamp:
            return
        with self._lock:
            loaded = load_trust_list(self._path)
            self._list = loaded
            self._stamp = _stamp(loaded.files())
            self._cache = {}

    def validate(
        self,
        cert: x509.Certificate,
        *,
        country: str,
        purpose: Purpose,
        now: dt.datetime,
        intermediates: Sequence[x509.Certificate] = (),
    ) -> tuple[x509.Certificate, ...]:
        """Return the chain (leaf first, anchor last) or raise :class:`CertificateError`."""
        self._refresh()
        country = country.upper()
        key = (cert, country, purpose)  # certificates hash and compare by their DER content
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._validate_uncached(cert, country, purpose, now, intermediates)
            self._cache[key] = verdict
        if not verdict.not_before <= now < verdict.not_after:
            # outside the window where every piece (certificates, CRLs) was valid: redo in full
            self._cache.pop(key, None)
            verdict = self._validate_uncached(cert, country, purpose, now, intermediates)
        return verdict.chain

    def tls_peer_country(self, certificate_der: bytes, *, now: dt.datetime,
                         purpose: Purpose = Purpose.TLS_CLIENT) -> str:
        """Validate a TLS peer's certificate (DER, as ``ssl`` gives it) and return its country.

        The TLS layer only checked the chain against the bundle of anchors; this adds the rules
        of this store (the anchor must be the one of the country the subject names, usage,
        CRLs). The country returned is what the assertion signers must match.
        """
        cert, country = _peer_certificate(certificate_der)
        if country is None:
            raise CertificateError("wrong-country", "the TLS peer certificate names no country")
        self.validate(cert, country=country, purpose=purpose, now=now)
        return country

    def _validate_uncached(
        self,
        cert: x509.Certificate,
        country: str,
        purpose: Purpose,
        now: dt.datetime,
        intermediates: Sequence[x509.Certificate],
    ) -> _Verdict:
        assert self._list is not None
        trust = self._list.countries.get(country)
        if trust is None:
            raise CertificateError("country-not-trusted", f"no trust anchor for {country}")
        claimed = certificate_country(cert)
        if claimed != country:
            raise CertificateError("wrong-country",
                                   f"certificate subject country {claimed} is not {country}")
        if cert.issuer == cert.subject and _issued_by(cert, cert):
            raise CertificateError("self-signed", "a self-signed certificate is never trusted")
        _dates(cert, now, "certificate")
        _check_usage(cert, purpose)
        anchors = [a.certificate for a in trust.anchors if purpose in a.purposes]
        chain = [cert]
        current = cert
        for _depth in range(4):
            anchor = next((a for a in anchors if _issued_by(current, a)), None)
            if anchor is not None:
                if not _is_ca(anchor):
                    raise CertificateError("untrusted-issuer", "the anchor is not a CA")
                _dates(anchor, now, "trust anchor")
                chain.append(anchor)
                break
            parent = next((i for i in intermediates
                           if i not in chain and _is_ca(i) and _issued_by(current, i)), None)
            if parent is None:
                raise CertificateError(
                    "untrusted-issuer",
                    f"no {country} anchor trusted for {purpose} issued "
                    f"{current.issuer.rfc4514_string()}")
            _dates(parent, now, "intermediate certificate")
            chain.append(parent)
            current = parent
        else:
            raise CertificateError("untrusted-issuer", "certificate chain too long")
        crl_until = self._check_revocation(trust, chain, now)
        not_before = max(c.not_valid_before_utc for c in chain)
        not_after = min([c.not_valid_after_utc for c in chain] + crl_until)
        return _Verdict(tuple(chain), not_before, not_after)

    @staticmethod
    def _check_revocation(trust: CountryTrust, chain: list[x509.Certificate],
                          now: dt.datetime) -> list[dt.datetime]:
        """Check every non-anchor certificate against its issuer's CRL; return CRL expiries."""
        until: list[dt.datetime] = []
        for cert, issuer in itertools.pairwise(chain):
            crls = [c for c in trust.crls if c.issuer == issuer.subject]
            if not crls:
                if trust.require_crl:
                    raise CertificateError("crl-missing",
                                           f"no CRL of {issuer.subject.rfc4514_string()}")
                continue
            for crl in crls:
                if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                    raise CertificateError("crl-bad-signature", "the CRL is not signed by its CA")
                nxt = crl.next_update_utc
                if nxt is None or now >= nxt or now < crl.last_update_utc:
                    raise CertificateError("crl-stale", "the CRL is outside its validity")
                if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                    raise CertificateError("revoked", f"certificate serial {cert.serial_number} "
                                           "is revoked")
                until.append(nxt)
        return until
