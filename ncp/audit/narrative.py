"""The patient's access log in words, in French, German or English.

A row of the access log (:class:`ncp.store.access_log.LogEntry`) says who (name, organisation,
country for a professional abroad), did what (search, read, write...), on what, when, and with
which outcome. Patients read it in the portal as sentences such as

    Dr An Peeters, UZ Leuven, Belgique, a consulté « Résumé patient » le 22 novembre 2026 à 11:00.

Why a module of its own: the sentence is what the patient relies on to notice an access they did
not expect, so it must name the professional, the organisation and the country exactly as the
foreign gateway asserted them, and say plainly when an access was refused. Times are shown in
Luxembourg time. Nothing here reads the database: it phrases the rows it is given.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ncp.store.access_log import LogEntry

__all__ = ["LANGUAGES", "country_name", "describe", "describe_all"]

LANGUAGES = ("fr", "de", "en")
_TZ = ZoneInfo("Europe/Luxembourg")

#: EU/EEA member states (the countries of MyHealth@EU) and Switzerland, by ISO 3166 alpha-2.
_COUNTRIES: dict[str, tuple[str, str, str]] = {
    "AT": ("Autriche", "Österreich", "Austria"),
    "BE": ("Belgique", "Belgien", "Belgium"),
    "BG": ("Bulgarie", "Bulgarien", "Bulgaria"),
    "CH": ("Suisse", "Schweiz", "Switzerland"),
    "CY": ("Chypre", "Zypern", "Cyprus"),
    "CZ": ("Tchéquie", "Tschechien", "Czechia"),
    "DE": ("Allemagne", "Deutschland", "Germany"),
    "DK": ("Danemark", "Dänemark", "Denmark"),
    "EE": ("Estonie", "Estland", "Estonia"),
    "EL": ("Grèce", "Griechenland", "Greece"),
    "GR": ("Grèce", "Griechenland", "Greece"),
    "ES": ("Espagne", "Spanien", "Spain"),
    "FI": ("Finlande", "Finnland", "Finland"),
    "FR": ("France", "Frankreich", "France"),
    "HR": ("Croatie", "Kroatien", "Croatia"),
    "HU": ("Hongrie", "Ungarn", "Hungary"),
    "IE": ("Irlande", "Irland", "Ireland"),
    "IS": ("Islande", "Island", "Iceland"),
    "IT": ("Italie", "Italien", "Italy"),
    "LI": ("Liechtenstein", "Liechtenstein", "Liechtenstein"),
    "LT": ("Lituanie", "Litauen", "Lithuania"),
    "LU": ("Luxembourg", "Luxemburg", "Luxembourg"),
    "LV": ("Lettonie", "Lettland", "Latvia"),
    "MT": ("Malte", "Malta", "Malta"),
    "NL": ("Pays-Bas", "Niederlande", "Netherlands"),
    "NO": ("Norvège", "Norwegen", "Norway"),
    "PL": ("Pologne", "Polen", "Poland"),
    "PT": ("Portugal", "Portugal", "Portugal"),
    "RO": ("Roumanie", "Rumänien", "Romania"),
    "SE": ("Suède", "Schweden", "Sweden"),
    "SI": ("Slovénie", "Slowenien", "Slovenia"),
    "SK": ("Slovaquie", "Slowakei", "Slovakia"),
}

_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

#: What the store writes in ``what`` for a search of one document type, in words.
_DOCUMENT_TYPES = {
    "patient-summary": ("votre résumé patient (Patient Summary)",
                        "Ihre Patientenkurzakte (Patient Summary)", "your Patient Summary"),
    "prescription": ("vos ordonnances électroniques", "Ihre elektronischen Rezepte",
                     "your ePrescriptions"),
    "dispensation": ("vos délivrances de médicaments", "Ihre Arzneimittelabgaben",
                     "your medicine dispensations"),
    "laboratory-report": ("vos résultats de laboratoire", "Ihre Laborbefunde",
                          "your laboratory results"),
    "imaging-report": ("vos comptes rendus d'imagerie", "Ihre Bildgebungsbefunde",
                       "your imaging reports"),
    "discharge-letter": ("vos lettres de sortie", "Ihre Entlassungsbriefe",
                         "your discharge letters"),
}
_ALL_DOCUMENTS = ("la liste de vos documents", "die Liste Ihrer Dokumente",
                  "the list of your documents")
_IDENTITY = ("votre identité (recherche de patient)", "Ihre Identität (Patientensuche)",
             "your identity (patient search)")

_VERBS = {
    # action: (fr, de, en) for a successful access; {x} is the object, {w} the time
    "search": ("a consulté {x} {w}", "hat {w} {x} eingesehen", "looked up {x} {w}"),
    "read": ("a consulté {x} {w}", "hat {w} {x} eingesehen", "read {x} {w}"),
    "write": ("a enregistré {x} {w}", "hat {w} {x} gespeichert", "recorded {x} {w}"),
    "update": ("a modifié {x} {w}", "hat {w} {x} geändert", "changed {x} {w}"),
    "policy": ("a modifié vos règles d'accès ({x}) {w}",
               "hat {w} Ihre Zugriffsregeln geändert ({x})",
               "changed your access rules ({x}) {w}"),
}
_REFUSED = ("s'est vu refuser l'accès à {x} {w}", "Zugriff auf {x} verweigert, {w}",
            "was refused access to {x} {w}")
_FAILED = ("a tenté d'accéder à {x} {w}, sans succès",
           "hat {w} erfolglos versucht, auf {x} zuzugreifen",
           "tried to access {x} {w}, without success")
_SOMEONE = ("Un professionnel de santé", "Eine Gesundheitsfachperson", "A health professional")
_YOU = ("Vous", "Sie", "You")
_EMERGENCY = (" (accès d'urgence)", " (Notfallzugriff)", " (emergency access)")


def _index(lang: str) -> int:
    try:
        return LANGUAGES.index(lang)
    except ValueError:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGUAGES}") from None


def country_name(code: str | None, lang: str) -> str | None:
    """The country's name in ``lang`` (the code itself when unknown)."""
    if not code:
        return None
    names = _COUNTRIES.get(code.upper())
    return names[_index(lang)] if names else code.upper()


def _when(at: dt.datetime, lang: str) -> str:
    local = at.astimezone(_TZ)
    month = _MONTHS[lang][local.month - 1]
    hm = f"{local:%H:%M}"
    if lang == "fr":
        day = "1er" if local.day == 1 else str(local.day)
        return f"le {day} {month} {local.year} à {hm}"
    if lang == "de":
        return f"am {local.day}. {month} {local.year} um {hm} Uhr"
    return f"on {local.day} {month} {local.year} at {hm}"


def _quoted(text: str, lang: str) -> str:
    if lang == "fr":
        return f"« {text} »"
    if lang == "de":
        return f"„{text}“"
    return f"“{text}”"


def _object(entry: LogEntry, i: int, lang: str) -> str:
    what = entry.what.strip()
    if what == "patient identity":
        return _IDENTITY[i]
    if what == "documents":
        return _ALL_DOCUMENTS[i]
    prefix = "documents of type "
    if what.startswith(prefix):
        kind = what[len(prefix):]
        return _DOCUMENT_TYPES[kind][i] if kind in _DOCUMENT_TYPES else _quoted(kind, lang)
    return _quoted(what, lang)


def _who(entry: LogEntry, i: int, lang: str) -> str:
    if entry.actor_kind == "patient":
        return _YOU[i]
    if entry.actor_kind == "helper":
        return entry.actor_name or _SOMEONE[i]
    parts = [p for p in (entry.actor_name, entry.actor_organisation,
                         country_name(entry.actor_country, lang)) if p]
    return ", ".join(parts) if parts else _SOMEONE[i]


def describe(entry: LogEntry, lang: str = "fr") -> str:
    """One access-log row as a sentence in ``lang`` (fr, de or en)."""
    i = _index(lang)
    who = _who(entry, i, lang)
    obj = _object(entry, i, lang)
    if entry.outcome == "denied":
        template = _REFUSED[i]
    elif entry.outcome == "error":
        template = _FAILED[i]
    else:
        template = _VERBS.get(entry.action, _VERBS["read"])[i]
    verb = template.format(x=obj, w=_when(entry.at, lang))
    if lang == "de" and entry.outcome == "denied":
        # "Dr X, ..., wurde der Zugriff verweigert" would need the dative; say it plainly.
        sentence = f"{who}: {verb}"
    else:
        sentence = f"{who}{', ' if ',' in who else ' '}{verb}"
    if entry.context == "emergency":
        sentence += _EMERGENCY[i]
    return sentence + "."


def describe_all(entries: list[LogEntry], lang: str = "fr") -> list[str]:
    """Every row as a sentence, in the order given (the store gives newest first)."""
    return [describe(e, lang) for e in entries]
