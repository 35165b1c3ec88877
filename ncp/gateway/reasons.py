"""The rules behind the gateway's refusal checks, in words, for ``ncp explain ERROR-ID``.

Each check token a refusal is stored with (:class:`ncp.store.audit.Refusal`) maps to the rule it
enforces, where that rule is written, and a sentence in French, German and English for the
operator who answers the peer. A token without an entry is explained generically (the stored
detail still says what was found): the table grows with the checks, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "Rule", "rule_for"]

_WSS = "OASIS WS-Security 1.1 SOAP Message Security"
_XMLDSIG = "W3C XML Signature 1.1"
_XUA = "IHE ITI TF-2b 3.40 (XUA) and the eHDSI SAML profile"
_PKI = "RFC 5280 and the eHDSI certificate policy"


@dataclass(frozen=True, slots=True)
class Rule:
    spec: str
    fr: str
    de: str
    en: str

    def text(self, lang: str) -> str:
        return {"fr": self.fr, "de": self.de}.get(lang, self.en)


def _r(spec: str, fr: str, de: str, en: str) -> Rule:
    return Rule(spec, fr, de, en)


RULES: dict[str, Rule] = {
    # --- transport: the TLS client -----------------------------------------------------------
    "own-country": _r(_PKI, "Un certificat de notre propre pays n'est jamais une passerelle "
                      "étrangère.", "Ein Zertifikat unseres eigenen Landes ist nie ein "
                      "ausländisches Gateway.", "A certificate of our own country is never a "
                      "foreign gateway."),
    "not-pinned": _r("eHDSI SMP/peers directory", "Le certificat TLS n'est pas émis par "
                     "l'ancre enregistrée pour ce pays.", "Das TLS-Zertifikat stammt nicht von "
                     "der für dieses Land registrierten Vertrauensanker.", "The TLS "
                     "certificate is not issued by the anchor registered for this country."),
    "unregistered-peer": _r("eHDSI SMP/peers directory", "Ce pays n'est pas enregistré "
                            "comme passerelle partenaire.", "Dieses Land ist nicht als "
                            "Partner-Gateway registriert.", "This country is not registered "
                            "as a partner gateway."),
    "revoked": _r(_PKI + " §6.3", "Le certificat est révoqué dans la CRL de son émetteur.",
                  "Das Zertifikat ist in der CRL seines Ausstellers widerrufen.",
                  "The certificate is revoked in its issuer's CRL."),
    "crl-missing": _r(_PKI + " §6.3", "La CRL de l'émetteur manque: on refuse (fail closed).",
                      "Die CRL des Ausstellers fehlt: abgelehnt (fail closed).",
                      "The issuer's CRL is missing: refused (fail closed)."),
    "crl-stale": _r(_PKI + " §5.1.2.5", "La CRL de l'émetteur a dépassé son nextUpdate.",
                    "Die CRL des Ausstellers ist über ihr nextUpdate hinaus.",
                    "The issuer's CRL is past its nextUpdate."),
    "crl-bad-signature": _r(_PKI + " §6.3.3", "La CRL n'est pas signée par l'émetteur.",
                            "Die CRL ist nicht vom Aussteller signiert.",
                            "The CRL is not signed by the issuer."),
    "untrusted-issuer": _r(_PKI + " §6.1", "Le certificat ne remonte à aucune ancre de la "
                           "liste de confiance pour ce pays.", "Das Zertifikat führt zu keinem "
                           "Vertrauensanker der Vertrauensliste für dieses Land.", "The "
                           "certificate chains to no anchor of the trust list for this "
                           "country."),
    "country-not-trusted": _r(_PKI, "Aucune ancre de la liste de confiance pour ce pays.",
                              "Kein Vertrauensanker für dieses Land.",
                              "No trust-list anchor for this country."),
    "wrong-country": _r(_PKI, "Le pays du certificat n'est pas celui de la passerelle "
                        "appelante.", "Das Land des Zertifikats ist nicht das des "
                        "aufrufenden Gateways.", "The certificate's country is not the "
                        "calling gateway's."),
    "certificate-expired": _r(_PKI + " §4.1.2.5", "Le certificat est expiré.",
                              "Das Zertifikat ist abgelaufen.", "The certificate has expired."),
    "certificate-not-yet-valid": _r(_PKI + " §4.1.2.5", "Le certificat n'est pas encore "
                                    "valide (horloge de l'émetteur en avance?).",
                                    "Das Zertifikat ist noch nicht gültig (Uhr des "
                                    "Ausstellers vor?).", "The certificate is not valid yet "
                                    "(the issuer's clock ahead?)."),
    "key-usage": _r(_PKI + " §4.2.1.3/§4.2.1.12", "KeyUsage/ExtendedKeyUsage présents mais "
                    "sans le bit requis pour cet usage.", "KeyUsage/ExtendedKeyUsage "
                    "vorhanden, aber ohne das nötige Bit.", "KeyUsage/ExtendedKeyUsage present "
                    "but without the bit this use needs."),
    # --- message security ---------------------------------------------------------------------
    "security-header": _r(_WSS + " §5", "L'en-tête wsse:Security manque ou est en double.",
                          "Der wsse:Security-Header fehlt oder ist doppelt.",
                          "The wsse:Security header is missing or repeated."),
    "timestamp-expired": _r(_WSS + " §10", "Le wsu:Timestamp est expiré.",
                            "Der wsu:Timestamp ist abgelaufen.",
                            "The wsu:Timestamp has expired."),
    "timestamp-future": _r(_WSS + " §10", "Le wsu:Timestamp est créé dans le futur (au-delà "
                           "de la tolérance d'horloge).", "Der wsu:Timestamp liegt in der "
                           "Zukunft (jenseits der Uhrtoleranz).", "The wsu:Timestamp was "
                           "created in the future (beyond the clock skew)."),
    "timestamp-missing": _r(_WSS + " §10", "Un Timestamp est exigé pour ce pays.",
                            "Für dieses Land ist ein Timestamp verlangt.",
                            "A Timestamp is required for this country."),
    "message-signature-missing": _r(_WSS + " §8", "Une signature du message est exigée pour "
                                    "ce pays.", "Für dieses Land ist eine Nachrichtensignatur "
                                    "verlangt.", "A message signature is required for this "
                                    "country."),
    "bad-signature": _r(_XMLDSIG + " §3.2", "La signature ne se vérifie pas (condensé ou "
                        "valeur): le contenu signé a changé après la signature.", "Die "
                        "Signatur prüft nicht (Digest oder Wert): der signierte Inhalt wurde "
                        "nach dem Signieren verändert.", "The signature does not verify "
                        "(digest or value): the signed content changed after signing."),
    "coverage": _r(_WSS + " §8 (signature wrapping defence)", "La signature ne couvre pas "
                   "ce qu'elle doit couvrir (Body, Timestamp, adressage).", "Die Signatur "
                   "deckt nicht ab, was sie abdecken muss.", "The signature does not cover "
                   "what it must (Body, Timestamp, addressing)."),
    "external-reference": _r(_XMLDSIG + " §4.4.3", "Seules les références #id sont "
                             "acceptées.", "Nur #id-Referenzen sind zulässig.",
                             "Only #id references are accepted."),
    "duplicate-id": _r(_XMLDSIG + " (signature wrapping defence)", "Deux éléments portent le "
                       "même identifiant.", "Zwei Elemente tragen dieselbe ID.",
                       "Two elements carry the same id."),
    "algorithm-not-allowed": _r(_XMLDSIG + " and the eHDSI profile", "Algorithme non admis "
                                "(SHA-1, c14n inclusive...).", "Algorithmus nicht zulässig.",
                                "Algorithm not allowed (SHA-1, inclusive c14n...)."),
    "replay": _r(_XUA + " (replay)", "Cet identifiant d'assertion ou de message a déjà été "
                 "vu avec un autre contenu.", "Diese Assertion- oder Nachrichten-ID wurde "
                 "schon mit anderem Inhalt gesehen.", "This assertion or message id was seen "
                 "before with different content."),
    # --- assertions -----------------------------------------------------------------------------
    "expired": _r(_XUA, "L'assertion est expirée (NotOnOrAfter).", "Die Assertion ist "
                  "abgelaufen (NotOnOrAfter).", "The assertion has expired (NotOnOrAfter)."),
    "not-yet-valid": _r(_XUA, "L'assertion n'est pas encore valide (NotBefore, 60 s de "
                        "tolérance).", "Die Assertion ist noch nicht gültig (NotBefore, 60 s "
                        "Toleranz).", "The assertion is not valid yet (NotBefore, 60 s skew)."),
    "lifetime": _r(_XUA, "Durée de vie de l'assertion trop longue (HCP 4 h au plus).",
                   "Lebensdauer der Assertion zu lang (HCP höchstens 4 h).",
                   "The assertion lives too long (HCP at most 4 h)."),
    "role": _r(_XUA + " (XSPA role, ISCO-08)", "Rôle du professionnel absent ou hors de la "
               "liste eHDSI.", "Rolle fehlt oder nicht in der eHDSI-Liste.",
               "The professional's role is missing or not in the eHDSI list."),
    "permission": _r(_XUA + " (HL7 permissions)", "Le professionnel n'a pas la permission de "
                     "cette transaction.", "Der Berufstätige hat nicht die Berechtigung.",
                     "The professional lacks the permission this transaction needs."),
    "patient-mismatch": _r(_XUA + " (TRC)", "La TRC nomme un autre patient que la requête.",
                           "Die TRC nennt einen anderen Patienten als die Anfrage.",
                           "The TRC names another patient than the request."),
    "not-bound": _r(_XUA + " (TRC Advice)", "La TRC n'est pas liée à cette assertion HCP.",
                    "Die TRC ist nicht an diese HCP-Assertion gebunden.",
                    "The TRC is not bound to this HCP assertion."),
    "weak-authentication": _r(_XUA + " (AuthnContext)", "Authentification du professionnel "
                              "non à deux facteurs.", "Keine Zwei-Faktor-Authentisierung.",
                              "The professional's authentication is not two-factor."),
    "issuer-country": _r(_XUA, "L'émetteur de l'assertion n'est pas du pays appelant.",
                         "Der Aussteller der Assertion ist nicht aus dem aufrufenden Land.",
                         "The assertion's issuer is not of the calling country."),
    "assertion-missing": _r(_XUA, "Assertion HCP (ou TRC) absente.", "HCP- (oder TRC-) "
                            "Assertion fehlt.", "The HCP (or TRC) assertion is missing."),
    "purpose-of-use": _r(_XUA, "Finalité (TREATMENT/EMERGENCY) absente ou inconnue.",
                         "Zweck fehlt oder unbekannt.", "Purpose of use missing or unknown."),
}


def rule_for(check: str) -> Rule | None:
    return RULES.get(check)
