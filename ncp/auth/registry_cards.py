"""The professionals' cards as the national registry lists them (``cards`` of
``ncp registry import-professionals``).

A national health professional card carries the professional's card number as its subject
``serialNumber``; the registry says which card numbers a professional holds. A card is
registered by (issuing CA, serial) for every card-issuer anchor of our trust list (purpose
``card``), so a renewed card with the same number keeps working, and the CRL check of
:class:`~ncp.auth.certificates.CardVerifier` still applies to each presented card. A number the
registry no longer lists is revoked at once (kept, with its date, for the record): a lost or
withdrawn card stops logging in with the next import, whatever its CRL says.

A professional with cards and no login yet gets one (their registry id, lower-cased) that has
no password: they log in with the card. Cards registered by fingerprint with
``ncp accounts card --cert`` are not touched by the feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ncp.auth import totp
from ncp.auth.certificates import ca_identity
from ncp.auth.passwords import NO_PASSWORD
from ncp.auth.service import Authenticator
from ncp.registry.professionals import RegisteredProfessional
from ncp.security.truststore import Purpose, load_trust_list
from ncp.store.errors import NotFound

__all__ = ["CardCounts", "RegistryCards", "card_issuers"]


def card_issuers(trust_list: Path, country: str) -> list[str]:
    """How cards name their issuers (:func:`ca_identity`): the trust list's card anchors of
    ``country``. Empty when there is none (then no card is registered, and the import says so)."""
    trust = load_trust_list(trust_list).countries.get(country.upper())
    if trust is None:
        return []
    return [ca_identity(a.certificate) for a in trust.anchors if Purpose.CARD in a.purposes]


@dataclass(slots=True)
class CardCounts:
    registered: int = 0
    revoked: int = 0
    logins: int = 0

    def __str__(self) -> str:
        return (f"{self.registered} card(s) registered, {self.revoked} revoked, "
                f"{self.logins} card login(s) created")


@dataclass
class RegistryCards:
    auth: Authenticator
    issuers: Sequence[str]

    def apply(self, items: Sequence[RegisteredProfessional]) -> CardCounts:
        """Make each listed professional's serial-registered cards what their line says
        (lines without ``cards`` are left alone). Run after the professionals are applied."""
        counts = CardCounts()
        store, records = self.auth.store, self.auth.records
        now = records.clock()
        for item in {i.registry_id: i for i in items}.values():
            if item.cards is None:
                continue
            try:
                professional_id = records.professional_id(item.registry_id)
            except NotFound:  # pragma: no cover - the professionals were applied first
                continue
            account = store.by_professional(professional_id)
            if account is None:
                if not item.cards or not self.issuers:
                    continue
                account_id = store.create(
                    login=item.registry_id.lower(), kind="professional",
                    display_name=f"{item.given_name} {item.family_name}",
                    password_hash=NO_PASSWORD, totp_secret=totp.new_secret(), now=now,
                    professional_id=professional_id)
                counts.logins += 1
            else:
                account_id = account.id
            added, revoked = store.set_serial_cards(account_id, self.issuers, item.cards, now)
            counts.registered += added
            counts.revoked += revoked
        return counts
