"""The renderer's own words in French, German and English: field labels the eHDSI display-label
catalogue lacks, statuses, dosing frequencies and UCUM units.

Why a table here and not the terminology database: these are words of the page (how a quantity
or a period is said), not clinical concepts a country codes, and they must exist in every reader
language even on a node whose terminology is half loaded. ``tests/rendering`` fails when a key
lacks one of the three languages.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

LANGUAGES = ("fr", "de", "en")

#: Labels and status words, per key, per language.
WORDS: dict[str, dict[str, str]] = {
    "dosage_text": {"fr": "Posologie (texte du prescripteur)",
                    "de": "Dosierung (Text des Verordnenden)",
                    "en": "Dosage instructions (prescriber's text)"},
    "patient_instructions": {"fr": "Instructions au patient", "de": "Hinweise für den Patienten",
                             "en": "Instructions to the patient"},
    "dispenser_instructions": {"fr": "Conseil au pharmacien", "de": "Hinweis für den Apotheker",
                               "en": "Advice to the dispenser"},
    "ingredient": {"fr": "Principe actif", "de": "Wirkstoff", "en": "Active ingredient"},
    "atc": {"fr": "Classe ATC", "de": "ATC-Klasse", "en": "ATC class"},
    "part": {"fr": "Composant du kit", "de": "Bestandteil der Packung", "en": "Kit part"},
    "criticality": {"fr": "Criticité", "de": "Kritikalität", "en": "Criticality"},
    "certainty": {"fr": "Certitude", "de": "Sicherheit der Diagnose", "en": "Certainty"},
    "status": {"fr": "Statut", "de": "Status", "en": "Status"},
    "severity": {"fr": "Sévérité", "de": "Schweregrad", "en": "Severity"},
    "body_site": {"fr": "Site anatomique", "de": "Körperstelle", "en": "Body site"},
    "reason": {"fr": "Motif", "de": "Grund", "en": "Reason"},
    "outcome": {"fr": "Évolution", "de": "Verlauf", "en": "Outcome"},
    "resolution": {"fr": "Date de résolution", "de": "Datum der Heilung", "en": "Resolution date"},
    "observation": {"fr": "Observation", "de": "Beobachtung", "en": "Observation"},
    "result": {"fr": "Résultat", "de": "Ergebnis", "en": "Result"},
    "interpretation": {"fr": "Interprétation", "de": "Bewertung", "en": "Interpretation"},
    "reference_range": {"fr": "Valeurs de référence", "de": "Referenzbereich",
                        "en": "Reference range"},
    "date": {"fr": "Date", "de": "Datum", "en": "Date"},
    "period": {"fr": "Période", "de": "Zeitraum", "en": "Period"},
    "vaccine": {"fr": "Vaccin", "de": "Impfstoff", "en": "Vaccine"},
    "target_disease": {"fr": "Maladie ciblée", "de": "Zielkrankheit", "en": "Target disease"},
    "dose_number": {"fr": "Numéro de dose", "de": "Dosisnummer", "en": "Dose number"},
    "lot": {"fr": "Numéro de lot", "de": "Chargennummer", "en": "Lot number"},
    "manufacturer": {"fr": "Fabricant", "de": "Hersteller", "en": "Manufacturer"},
    "device_id": {"fr": "Identifiant du dispositif", "de": "Kennung des Medizinprodukts",
                  "en": "Device identifier"},
    "planned": {"fr": "Prévu", "de": "Geplant", "en": "Planned"},
    "description": {"fr": "Description", "de": "Beschreibung", "en": "Description"},
    "unstructured": {"fr": "Texte d'origine (non structuré)",
                     "de": "Originaltext (nicht strukturiert)",
                     "en": "Original text (not structured)"},
    "unstructured_note": {
        "fr": "Cette entrée n'a pas pu être lue de façon structurée : voici son texte d'origine.",
        "de": "Dieser Eintrag konnte nicht strukturiert gelesen werden: hier sein Originaltext.",
        "en": "This entry could not be read structurally: its original text is shown."},
    "narrative_table": {"fr": "Tableau", "de": "Tabelle", "en": "Table"},
    "document_date": {"fr": "Date du document", "de": "Dokumentdatum", "en": "Document date"},
    "identifier": {"fr": "Identifiant", "de": "Kennung", "en": "Identifier"},
    "organisation": {"fr": "Organisation", "de": "Organisation", "en": "Organisation"},
    # act and observation statuses (HL7 ActStatus), shown when the concern's status is coded so
    "status.active": {"fr": "Actif", "de": "Aktiv", "en": "Active"},
    "status.completed": {"fr": "Terminé", "de": "Abgeschlossen", "en": "Completed"},
    "status.suspended": {"fr": "Suspendu", "de": "Ausgesetzt", "en": "Suspended"},
    "status.aborted": {"fr": "Interrompu", "de": "Abgebrochen", "en": "Aborted"},
    "status.cancelled": {"fr": "Annulé", "de": "Storniert", "en": "Cancelled"},
    "status.new": {"fr": "Nouveau", "de": "Neu", "en": "New"},
    "status.held": {"fr": "En attente", "de": "Zurückgestellt", "en": "Held"},
    "status.planned": {"fr": "Prévu", "de": "Geplant", "en": "Planned"},
    # administrative gender (HL7 AdministrativeGender), whatever the source's display name
    "gender.M": {"fr": "Masculin", "de": "Männlich", "en": "Male"},
    "gender.F": {"fr": "Féminin", "de": "Weiblich", "en": "Female"},
    "gender.UN": {"fr": "Indéterminé", "de": "Unbestimmt", "en": "Undifferentiated"},
    # frequencies
    "freq.daily": {"fr": "une fois par jour", "de": "einmal täglich", "en": "once a day"},
    "freq.weekly": {"fr": "une fois par semaine", "de": "einmal wöchentlich",
                    "en": "once a week"},
    "freq.monthly": {"fr": "une fois par mois", "de": "einmal monatlich", "en": "once a month"},
    "freq.yearly": {"fr": "une fois par an", "de": "einmal jährlich", "en": "once a year"},
    "freq.hourly": {"fr": "toutes les heures", "de": "stündlich", "en": "every hour"},
    "freq.every_min": {"fr": "toutes les {n} minutes", "de": "alle {n} Minuten",
                       "en": "every {n} minutes"},
    "freq.every_h": {"fr": "toutes les {n} heures", "de": "alle {n} Stunden",
                     "en": "every {n} hours"},
    "freq.every_d": {"fr": "tous les {n} jours", "de": "alle {n} Tage", "en": "every {n} days"},
    "freq.every_wk": {"fr": "toutes les {n} semaines", "de": "alle {n} Wochen",
                      "en": "every {n} weeks"},
    "freq.every_mo": {"fr": "tous les {n} mois", "de": "alle {n} Monate",
                      "en": "every {n} months"},
    "freq.every_a": {"fr": "tous les {n} ans", "de": "alle {n} Jahre", "en": "every {n} years"},
    "freq.times": {"fr": "{n} fois {per}", "de": "{n}-mal {per}", "en": "{n} times {per}"},
    "freq.per_d": {"fr": "par jour", "de": "täglich", "en": "a day"},
    "freq.per_wk": {"fr": "par semaine", "de": "pro Woche", "en": "a week"},
    "freq.per_mo": {"fr": "par mois", "de": "pro Monat", "en": "a month"},
    "freq.institution": {"fr": "(horaires de l'établissement)", "de": "(Zeiten der Einrichtung)",
                         "en": "(at the institution's times)"},
}

#: UCUM units and annotations as words, per language (singular, plural).
UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "mg": {"fr": ("mg", "mg"), "de": ("mg", "mg"), "en": ("mg", "mg")},
    "g": {"fr": ("g", "g"), "de": ("g", "g"), "en": ("g", "g")},
    "kg": {"fr": ("kg", "kg"), "de": ("kg", "kg"), "en": ("kg", "kg")},
    "ug": {"fr": ("microgramme", "microgrammes"), "de": ("Mikrogramm", "Mikrogramm"),
           "en": ("microgram", "micrograms")},
    "mcg": {"fr": ("microgramme", "microgrammes"), "de": ("Mikrogramm", "Mikrogramm"),
            "en": ("microgram", "micrograms")},
    "ng": {"fr": ("nanogramme", "nanogrammes"), "de": ("Nanogramm", "Nanogramm"),
           "en": ("nanogram", "nanograms")},
    "mL": {"fr": ("mL", "mL"), "de": ("ml", "ml"), "en": ("mL", "mL")},
    "ml": {"fr": ("mL", "mL"), "de": ("ml", "ml"), "en": ("mL", "mL")},
    "L": {"fr": ("litre", "litres"), "de": ("Liter", "Liter"), "en": ("litre", "litres")},
    "[IU]": {"fr": ("unité internationale", "unités internationales"),
             "de": ("Internationale Einheit", "Internationale Einheiten"),
             "en": ("international unit", "international units")},
    "[iU]": {"fr": ("unité internationale", "unités internationales"),
             "de": ("Internationale Einheit", "Internationale Einheiten"),
             "en": ("international unit", "international units")},
    "U": {"fr": ("unité", "unités"), "de": ("Einheit", "Einheiten"), "en": ("unit", "units")},
    "1": {"fr": ("unité", "unités"), "de": ("Einheit", "Einheiten"), "en": ("unit", "units")},
    "%": {"fr": ("%", "%"), "de": ("%", "%"), "en": ("%", "%")},
    "mmol/L": {"fr": ("mmol/L", "mmol/L"), "de": ("mmol/l", "mmol/l"), "en": ("mmol/L", "mmol/L")},
    "mg/dL": {"fr": ("mg/dL", "mg/dL"), "de": ("mg/dl", "mg/dl"), "en": ("mg/dL", "mg/dL")},
    "mm[Hg]": {"fr": ("mmHg", "mmHg"), "de": ("mmHg", "mmHg"), "en": ("mmHg", "mmHg")},
    "/min": {"fr": ("par minute", "par minute"), "de": ("pro Minute", "pro Minute"),
             "en": ("per minute", "per minute")},
    "Cel": {"fr": ("°C", "°C"), "de": ("°C", "°C"), "en": ("°C", "°C")},
    "cm": {"fr": ("cm", "cm"), "de": ("cm", "cm"), "en": ("cm", "cm")},
    "m": {"fr": ("m", "m"), "de": ("m", "m"), "en": ("m", "m")},
    "kg/m2": {"fr": ("kg/m²", "kg/m²"), "de": ("kg/m²", "kg/m²"), "en": ("kg/m²", "kg/m²")},
    "min": {"fr": ("minute", "minutes"), "de": ("Minute", "Minuten"), "en": ("minute", "minutes")},
    "h": {"fr": ("heure", "heures"), "de": ("Stunde", "Stunden"), "en": ("hour", "hours")},
    "d": {"fr": ("jour", "jours"), "de": ("Tag", "Tage"), "en": ("day", "days")},
    "wk": {"fr": ("semaine", "semaines"), "de": ("Woche", "Wochen"), "en": ("week", "weeks")},
    "mo": {"fr": ("mois", "mois"), "de": ("Monat", "Monate"), "en": ("month", "months")},
    "a": {"fr": ("an", "ans"), "de": ("Jahr", "Jahre"), "en": ("year", "years")},
    "{tablet}": {"fr": ("comprimé", "comprimés"), "de": ("Tablette", "Tabletten"),
                 "en": ("tablet", "tablets")},
    "{tbl}": {"fr": ("comprimé", "comprimés"), "de": ("Tablette", "Tabletten"),
              "en": ("tablet", "tablets")},
    "{capsule}": {"fr": ("gélule", "gélules"), "de": ("Kapsel", "Kapseln"),
                  "en": ("capsule", "capsules")},
    "{puff}": {"fr": ("bouffée", "bouffées"), "de": ("Hub", "Hübe"), "en": ("puff", "puffs")},
    "{drop}": {"fr": ("goutte", "gouttes"), "de": ("Tropfen", "Tropfen"), "en": ("drop", "drops")},
    "[drp]": {"fr": ("goutte", "gouttes"), "de": ("Tropfen", "Tropfen"), "en": ("drop", "drops")},
    "{dose}": {"fr": ("dose", "doses"), "de": ("Dosis", "Dosen"), "en": ("dose", "doses")},
    "{sachet}": {"fr": ("sachet", "sachets"), "de": ("Beutel", "Beutel"),
                 "en": ("sachet", "sachets")},
    "{ampoule}": {"fr": ("ampoule", "ampoules"), "de": ("Ampulle", "Ampullen"),
                  "en": ("ampoule", "ampoules")},
    "{patch}": {"fr": ("patch", "patchs"), "de": ("Pflaster", "Pflaster"),
                "en": ("patch", "patches")},
    "{application}": {"fr": ("application", "applications"), "de": ("Anwendung", "Anwendungen"),
                      "en": ("application", "applications")},
    "{pack}": {"fr": ("paquet", "paquets"), "de": ("Packung", "Packungen"),
               "en": ("pack", "packs")},
    "{package}": {"fr": ("boîte", "boîtes"), "de": ("Packung", "Packungen"),
                  "en": ("package", "packages")},
    "{unit}": {"fr": ("unité", "unités"), "de": ("Einheit", "Einheiten"), "en": ("unit", "units")},
    "{piece}": {"fr": ("pièce", "pièces"), "de": ("Stück", "Stück"), "en": ("piece", "pieces")},
}

_PER = {"d": "freq.per_d", "wk": "freq.per_wk", "mo": "freq.per_mo"}


def word(key: str, lang: str) -> str:
    """The word for ``key`` in ``lang`` (English when the language is not a reader language)."""
    entry = WORDS[key]
    return entry.get(lang) or entry["en"]


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text


def unit_words(unit: str, value: str, lang: str) -> str:
    """A UCUM unit as words: ``[IU]`` -> "international units", ``{tablet}`` -> "tablets";
    compound units by their parts (``{pack}/d``); an unknown annotation without its braces."""
    if unit in ("", "1"):
        return ""
    number = _number(value)
    plural = number is None or abs(number) != 1
    known = UNITS.get(unit)
    if known is not None:
        forms = known.get(lang) or known["en"]
        return forms[1] if plural else forms[0]
    if "/" in unit and not unit.startswith("/"):
        head, _, tail = unit.partition("/")
        per = {"d": "freq.per_d", "wk": "freq.per_wk", "mo": "freq.per_mo"}.get(tail)
        left = unit_words(head, value, lang) or head
        if per:
            return f"{left} {word(per, lang)}"
        return f"{left}/{unit_words(tail, '1', lang) or tail}"
    # A UCUM annotation we have no word for: show its text, not the braces.
    return re.sub(r"[{}]", "", unit)


def quantity_words(value: str, unit: str, lang: str) -> str:
    """``25000`` ``[IU]`` -> "25000 international units"."""
    words = unit_words(unit, value, lang)
    return f"{value} {words}".strip()


def frequency_words(value: str, unit: str, lang: str, *, institution: bool = False) -> str:
    """A PIVL period in natural words: 24 h -> "once a day", 720 h -> "once a month",
    8 h -> "every 8 hours", 0.5 d -> "every 12 hours"."""
    number = _number(value)
    if number is None or number <= 0:
        return f"{value} {unit}".strip()
    minutes = {"min": 1, "h": 60, "d": 1440, "wk": 10080, "mo": 43200, "a": 525600}.get(unit)
    text = f"{value} {unit}".strip() if minutes is None else _natural(number * minutes, lang)
    if institution:
        text = f"{text} {word('freq.institution', lang)}"
    return text


def _natural(minutes: Decimal, lang: str) -> str:
    """A period in minutes as words; 30 and 31 days count as a month."""
    for length, key in ((525600, "freq.yearly"), (43200, "freq.monthly"),
                        (44640, "freq.monthly"), (10080, "freq.weekly"), (1440, "freq.daily"),
                        (60, "freq.hourly")):
        if minutes == length:
            return word(key, lang)
    for length, key in ((525600, "freq.every_a"), (43200, "freq.every_mo"),
                        (10080, "freq.every_wk"), (1440, "freq.every_d"),
                        (60, "freq.every_h")):
        if minutes >= length and minutes % length == 0:
            return word(key, lang).format(n=_plain(minutes / length))
    if minutes < 60 or minutes % 60:
        if minutes % 60 and minutes > 60:
            return word("freq.every_h", lang).format(n=_plain(minutes / 60))
        return word("freq.every_min", lang).format(n=_plain(minutes))
    return word("freq.every_h", lang).format(n=_plain(minutes / 60))


def times_words(count: str, period_unit: str, lang: str) -> str:
    """A frequency (``2`` per ``d``) as "2 times a day"."""
    per = _PER.get(period_unit)
    if per is None:
        return f"{count}/{period_unit}"
    return word("freq.times", lang).format(n=count, per=word(per, lang))


__all__ = ["LANGUAGES", "UNITS", "WORDS", "frequency_words", "quantity_words", "times_words",
           "unit_words", "word"]
