"""What each error code of the reference gateway's dictionary means, for our doctors and
pharmacists, in French, German and English.

Foreign gateways answer with the codes of the reference gateway's ``OpenNCPErrorCode``
dictionary (eHDSI CP-58 names such as ``ERROR_PI_NO_MATCH`` and the older numeric codes such as
``4701``); its own portal shows that entry's text, so a peer running it expects the code alone to
be understood. These texts are ours (written for a professional at the counter, not copied),
keyed by the code *as it travels on the wire* (``errorCode``, XCPD acknowledgement detail).
The message keys of :mod:`ncp.peers.errors` say what to do; these say what the country said.
The one table of our own codes is :mod:`ncp.errors`.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["LANGUAGES", "TEXTS", "text_for"]

LANGUAGES = ("fr", "de", "en")

_T: dict[str, tuple[str, str, str]] = {
    # code: (fr, de, en)
    "ERROR_GENERIC": (
        "Le pays a signalé une erreur sans la préciser.",
        "Das Land hat einen nicht näher bezeichneten Fehler gemeldet.",
        "The country reported an error without details."),
    "WARNING_GENERIC": (
        "Le pays a émis un avertissement sans le préciser.",
        "Das Land hat eine nicht näher bezeichnete Warnung gemeldet.",
        "The country reported a warning without details."),
    "ERROR_CONNECTION_NOT_POSSIBLE": (
        "Le pays d'affiliation du patient ne peut pas être joint.",
        "Das Versicherungsland des Patienten ist nicht erreichbar.",
        "The patient's country of affiliation cannot be reached."),
    "ERROR_GENERIC_DOCUMENT_MISSING": (
        "Le document demandé est introuvable dans le pays du patient.",
        "Das angeforderte Dokument wurde im Land des Patienten nicht gefunden.",
        "The requested document was not found in the patient's country."),
    "ERROR_GENERIC_SERVICE_SIGNIFIER_UNKNOWN": (
        "Le pays ne propose pas ce type de document.",
        "Das Land bietet diese Dokumentart nicht an.",
        "The country does not offer this kind of document."),
    "ERROR_HPI_GENERIC": (
        "Le pays n'a pas accepté votre identification de professionnel de santé.",
        "Das Land hat Ihre Identifizierung als Gesundheitsfachkraft nicht akzeptiert.",
        "The country did not accept your identification as a health professional."),
    "WARNING_HPI_GENERIC": (
        "Le pays signale un point à vérifier dans votre identification professionnelle.",
        "Das Land meldet einen Hinweis zu Ihrer beruflichen Identifizierung.",
        "The country reports a remark about your professional identification."),
    "ERROR_HPI_NO_INFORMATION": (
        "Le pays n'a reçu aucune information sur vous en tant que professionnel.",
        "Das Land hat keine Angaben zu Ihnen als Gesundheitsfachkraft erhalten.",
        "The country received no information about you as a professional."),
    "ERROR_HPI_INSUFFICIENT_INFORMATION": (
        "Les informations transmises sur vous sont insuffisantes pour le pays.",
        "Die übermittelten Angaben zu Ihrer Person reichen dem Land nicht aus.",
        "The information sent about you is not sufficient for the country."),
    "ERROR_HPI_HAI_NO_INFORMATION": (
        "Le pays n'a reçu aucune information sur votre organisation de soins.",
        "Das Land hat keine Angaben zu Ihrer Gesundheitseinrichtung erhalten.",
        "The country received no information about your healthcare organisation."),
    "ERROR_HPI_POC_NO_INFORMATION": (
        "Le pays n'a reçu aucune information sur le lieu où vous soignez le patient.",
        "Das Land hat keine Angaben zum Ort der Behandlung erhalten.",
        "The country received no information about the place of care."),
    "ERROR_HPI_AUTHENTICATION_NOT_RECEIVED": (
        "Le pays n'a pas reçu la façon dont vous vous êtes authentifié.",
        "Das Land hat die Art Ihrer Anmeldung nicht erhalten.",
        "The country did not receive how you authenticated."),
    "ERROR_PI_GENERIC": (
        "Le pays n'a pas pu identifier le patient.",
        "Das Land konnte den Patienten nicht identifizieren.",
        "The country could not identify the patient."),
    "WARNING_PI_GENERIC": (
        "Le pays signale un point à vérifier dans l'identification du patient.",
        "Das Land meldet einen Hinweis zur Identifizierung des Patienten.",
        "The country reports a remark about the patient's identification."),
    "ERROR_PI_NO_MATCH": (
        "Aucun patient ne correspond aux données saisies ; vérifiez l'identifiant.",
        "Kein Patient entspricht den eingegebenen Daten; prüfen Sie die Kennung.",
        "No patient matches the data entered; check the identifier."),
    "ERROR_PI_MULTIPLE_MATCHES": (
        "Plusieurs patients correspondent ; précisez la recherche.",
        "Mehrere Patienten entsprechen der Suche; bitte genauer suchen.",
        "Several patients match; please narrow the search."),
    "ERROR_PS_GENERIC": (
        "Le pays n'a pas pu fournir le résumé patient.",
        "Das Land konnte die Patientenkurzakte nicht bereitstellen.",
        "The country could not provide the Patient Summary."),
    "WARNING_PS_GENERIC": (
        "Le pays signale une remarque sur le résumé patient.",
        "Das Land meldet einen Hinweis zur Patientenkurzakte.",
        "The country reports a remark about the Patient Summary."),
    "ERROR_PS_MISSING_BASIC_SECTIONS": (
        "Des sections obligatoires du résumé patient manquent sans explication.",
        "Pflichtabschnitte der Patientenkurzakte fehlen ohne Begründung.",
        "Required sections of the Patient Summary are missing without a reason."),
    "WARNING_PS_MISSING_BASIC_DATA": (
        "Des données de base du résumé patient manquent.",
        "Grunddaten der Patientenkurzakte fehlen.",
        "Basic data of the Patient Summary are missing."),
    "ERROR_PS_MISSING_EXPECTED_MAPPING": (
        "Un code du résumé patient n'a pas pu être traduit.",
        "Ein Code der Patientenkurzakte konnte nicht übersetzt werden.",
        "A code of the Patient Summary could not be translated."),
    "WARNING_PS_MISSING_EXPECTED_MAPPING": (
        "Un code du résumé patient n'a pas été traduit ; consultez l'original.",
        "Ein Code der Patientenkurzakte wurde nicht übersetzt; siehe Original.",
        "A code of the Patient Summary was not translated; see the original."),
    "EHDSI_WARNING_PS_MISSING_EXPECTED_TRANSLATION": (
        "La traduction attendue du résumé patient manque.",
        "Die erwartete Übersetzung der Patientenkurzakte fehlt.",
        "The expected translation of the Patient Summary is missing."),
    "ERROR_PS_PDF_FORMAT_NOT_PROVIDED": (
        "Le pays ne fournit pas le résumé patient en PDF.",
        "Das Land stellt die Patientenkurzakte nicht als PDF bereit.",
        "The country does not provide the Patient Summary as a PDF."),
    "ERROR_EP_GENERIC": (
        "Le pays n'a pas pu fournir les prescriptions électroniques.",
        "Das Land konnte die elektronischen Verschreibungen nicht bereitstellen.",
        "The country could not provide the ePrescriptions."),
    "WARNING_EP_GENERIC": (
        "Le pays signale une remarque sur les prescriptions électroniques.",
        "Das Land meldet einen Hinweis zu den elektronischen Verschreibungen.",
        "The country reports a remark about the ePrescriptions."),
    "WARNING_EP_MISSING_BASIC_DATA": (
        "Des données de base de la prescription manquent sans explication.",
        "Grunddaten der Verschreibung fehlen ohne Begründung.",
        "Basic data of the prescription are missing without a reason."),
    "ERROR_EP_MISSING_EXPECTED_MAPPING": (
        "Un code de la prescription n'a pas pu être traduit.",
        "Ein Code der Verschreibung konnte nicht übersetzt werden.",
        "A code of the prescription could not be translated."),
    "WARNING_EP_MISSING_EXPECTED_MAPPING": (
        "Un code de la prescription n'a pas été traduit ; consultez l'original.",
        "Ein Code der Verschreibung wurde nicht übersetzt; siehe Original.",
        "A code of the prescription was not translated; see the original."),
    "WARNING_EP_MISSING_EXPECTED_TRANSLATION": (
        "La traduction attendue de la prescription manque.",
        "Die erwartete Übersetzung der Verschreibung fehlt.",
        "The expected translation of the prescription is missing."),
    "ERROR_EP_PDF_FORMAT_NOT_PROVIDED": (
        "Le pays ne fournit pas la prescription en PDF.",
        "Das Land stellt die Verschreibung nicht als PDF bereit.",
        "The country does not provide the prescription as a PDF."),
    "ERROR_ED_GENERIC": (
        "Le pays n'a pas accepté la délivrance.",
        "Das Land hat die Abgabe nicht angenommen.",
        "The country did not accept the dispensation."),
    "WARNING_ED_GENERIC": (
        "Le pays signale une remarque sur la délivrance.",
        "Das Land meldet einen Hinweis zur Abgabe.",
        "The country reports a remark about the dispensation."),
    "ERROR_ED_NOT_DISPENSABLE_EPRESCRIPTION": (
        "Cette prescription ne peut pas être délivrée.",
        "Diese Verschreibung kann nicht abgegeben werden.",
        "This prescription cannot be dispensed."),
    "ERROR_ED_SUBSTITUTION_INFORMATION_NOT_ALLOWED": (
        "La substitution n'est pas permise par le pays du patient.",
        "Der Austausch ist im Land des Patienten nicht erlaubt.",
        "Substitution is not allowed by the patient's country."),
    "ERROR_ED_EPRESCRIPTION_NOT_IDENTIFIABLE": (
        "Le pays n'a pas pu reconnaître la prescription ou le médicament délivré.",
        "Das Land konnte die Verschreibung oder das abgegebene Arzneimittel nicht zuordnen.",
        "The country could not identify the prescription or the medicine dispensed."),
    "WARNING_ED_MISSING_BASIC_DATA": (
        "Des données de base de la délivrance manquent.",
        "Grunddaten der Abgabe fehlen.",
        "Basic data of the dispensation are missing."),
    "ERROR_ED_INFORMATION_NOT_STORE": (
        "L'annulation est permise, mais la délivrance n'a pas pu être enregistrée ici.",
        "Die Stornierung ist erlaubt, die Abgabe konnte hier aber nicht gespeichert werden.",
        "The discard is allowed, but the dispensation could not be stored here."),
    "ERROR_ED_MISSING_EXPECTED_MAPPING": (
        "Un code attendu de la délivrance manque.",
        "Ein erwarteter Code der Abgabe fehlt.",
        "An expected code of the dispensation is missing."),
    "WARNING_ED_MISSING_EXPECTED_MAPPING": (
        "Un code attendu de la délivrance manque (avertissement).",
        "Ein erwarteter Code der Abgabe fehlt (Warnung).",
        "An expected code of the dispensation is missing (warning)."),
    "ERROR_ED_EDISPENSATION_ACK_NOT_RECEIVED": (
        "La confirmation de la délivrance précédente n'est pas encore arrivée.",
        "Die Bestätigung der vorherigen Abgabe ist noch nicht eingegangen.",
        "The confirmation of the previous dispensation has not arrived yet."),
    "ERROR_ED_EPRESCRIPTION_NOT_UPDATED": (
        "Le pays n'a pas pu mettre à jour toutes les prescriptions délivrées.",
        "Das Land konnte nicht alle abgegebenen Verschreibungen aktualisieren.",
        "The country could not update every dispensed prescription."),
    "ERROR_ED_EDISPENSATION_NOT_STORED": (
        "L'annulation est permise, mais le pays du patient n'a pas pu l'enregistrer.",
        "Die Stornierung ist erlaubt, das Land des Patienten konnte sie aber nicht speichern.",
        "The discard is allowed, but the patient's country could not store it."),
    "ERROR_ED_DISCARD_SERVICE_NOT_AVAILABLE": (
        "Le service d'annulation du pays du patient est injoignable.",
        "Der Stornierungsdienst des Landes des Patienten ist nicht erreichbar.",
        "The discard service of the patient's country cannot be reached."),
    "ERROR_ED_DISCARD_FAILED": (
        "Le pays du patient n'a pas pu annuler la délivrance.",
        "Das Land des Patienten konnte die Abgabe nicht stornieren.",
        "The patient's country could not discard the dispensation."),
    "WARNING_ED_DISCARD_MISSING_MANDATORY_DATA": (
        "Des éléments obligatoires de l'annulation manquent.",
        "Pflichtangaben der Stornierung fehlen.",
        "Mandatory elements of the discard are missing."),
    "ERROR_ORCD_GENERIC": (
        "Le pays n'a pas pu fournir les documents cliniques originaux.",
        "Das Land konnte die klinischen Originaldokumente nicht bereitstellen.",
        "The country could not provide the original clinical documents."),
    "WARNING_ORCD_GENERIC": (
        "Le pays signale une remarque sur les documents cliniques originaux.",
        "Das Land meldet einen Hinweis zu den klinischen Originaldokumenten.",
        "The country reports a remark about the original clinical documents."),
    "ERROR_ORCD_SERVICE_NOT_AVAILABLE": (
        "Le service des documents originaux du pays est injoignable.",
        "Der Dienst für Originaldokumente des Landes ist nicht erreichbar.",
        "The country's original documents service cannot be reached."),
    "WARNING_ORCD_MISSING_MANDATORY_DATA": (
        "Des éléments obligatoires du document original manquent.",
        "Pflichtangaben des Originaldokuments fehlen.",
        "Mandatory elements of the original document are missing."),
    "ERROR_ORCD_INCORRECT_FORMAT": (
        "Le fichier fourni n'est pas dans un format autorisé.",
        "Die gelieferte Datei hat kein zulässiges Format.",
        "The file provided is not in an allowed format."),
    "WARNING_ORCD_MISSING_MANDATORY_METADATA": (
        "Des métadonnées obligatoires du document original manquent.",
        "Pflicht-Metadaten des Originaldokuments fehlen.",
        "Mandatory metadata of the original document are missing."),
    "ERROR_HQI_GENERIC": (
        "Les informations échangées ne sont pas de qualité suffisante.",
        "Die ausgetauschten Informationen sind von unzureichender Qualität.",
        "The information exchanged is not of sufficient quality."),
    "WARNING_HQI_GENERIC": (
        "Remarque du pays sur la qualité des informations échangées.",
        "Hinweis des Landes zur Qualität der ausgetauschten Informationen.",
        "The country's remark on the quality of the information exchanged."),
    "WARNING_HQI_B_INFORMATION_NOT_PROPERLY_STRUCTURED": (
        "Les informations envoyées par notre pays ne sont pas correctement structurées.",
        "Die von unserem Land gesendeten Informationen sind nicht korrekt strukturiert.",
        "The information our country sent is not properly structured."),
    "WARNING_HQI_A_INFORMATION_NOT_PROPERLY_STRUCTURED": (
        "Les informations du pays du patient ne sont pas correctement structurées.",
        "Die Informationen aus dem Land des Patienten sind nicht korrekt strukturiert.",
        "The information from the patient's country is not properly structured."),
    "ERROR_SEC_GENERIC": (
        "Le pays a refusé la demande pour une raison de sécurité.",
        "Das Land hat die Anfrage aus Sicherheitsgründen abgelehnt.",
        "The country refused the request for a security reason."),
    "WARNING_SEC_GENERIC": (
        "Le pays signale une remarque de sécurité.",
        "Das Land meldet einen Sicherheitshinweis.",
        "The country reports a security remark."),
    "ERROR_SEC_DATA_INTEGRITY_NOT_ENSURED": (
        "Le pays n'a pas pu vérifier l'intégrité de la demande (attestations de sécurité).",
        "Das Land konnte die Unversehrtheit der Anfrage nicht prüfen (Sicherheitsnachweise).",
        "The country could not verify the request's integrity (security assertions)."),
    "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_PATIENT": (
        "Le pays a relevé un nombre inhabituel de demandes pour ce patient.",
        "Das Land hat ungewöhnlich viele Anfragen zu diesem Patienten festgestellt.",
        "The country noticed an unusual number of requests for this patient."),
    "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS_FOR_UNIQUE_POINT_OF_CARE": (
        "Le pays a relevé un nombre inhabituel de demandes venant de ce lieu de soins.",
        "Das Land hat ungewöhnlich viele Anfragen von dieser Einrichtung festgestellt.",
        "The country noticed an unusual number of requests from this place of care."),
    "WARNING_SEC_UNEXPECTED_NUMBER_OF_REQUESTS": (
        "Le pays a relevé un nombre inhabituel de demandes.",
        "Das Land hat ungewöhnlich viele Anfragen festgestellt.",
        "The country noticed an unusual number of requests."),
    "1001": (
        "Le pays n'a pas accepté votre identification (attestation non valide).",
        "Das Land hat Ihre Identifizierung nicht akzeptiert (ungültiger Nachweis).",
        "The country did not accept your identification (assertion not valid)."),
    "1002": (
        "Le pays n'a pas accepté la confirmation de la relation de soins.",
        "Das Land hat die Bestätigung des Behandlungsverhältnisses nicht akzeptiert.",
        "The country did not accept the confirmation of the treatment relationship."),
    "1100": (
        "Aucun document n'est enregistré pour ce patient.",
        "Für diesen Patienten sind keine Dokumente vorhanden.",
        "No documents are registered for this patient."),
    "1101": (
        "Aucune prescription électronique n'est enregistrée pour ce patient.",
        "Für diesen Patienten ist keine elektronische Verschreibung vorhanden.",
        "No ePrescription is registered for this patient."),
    "1102": (
        "Aucun résumé patient n'est enregistré pour ce patient.",
        "Für diesen Patienten ist keine Patientenkurzakte vorhanden.",
        "No Patient Summary is registered for this patient."),
    "1103": (
        "Aucune donnée de médication (MRO) n'est disponible.",
        "Keine Medikationsdaten (MRO) verfügbar.",
        "No medication-related data (MRO) is available."),
    "1104": (
        "Aucun document clinique original n'est enregistré pour ce patient.",
        "Für diesen Patienten ist kein klinisches Originaldokument vorhanden.",
        "No original clinical document is registered for this patient."),
    "2201": (
        "Les documents ont été reçus mais pas traités.",
        "Die Dokumente wurden empfangen, aber nicht verarbeitet.",
        "The documents were received but not processed."),
    "4101": (
        "Le document n'a pas pu être présenté entièrement.",
        "Das Dokument konnte nicht vollständig dargestellt werden.",
        "The document could not be rendered completely."),
    "4102": (
        "La collecte des données est incomplète.",
        "Die Datensammlung ist unvollständig.",
        "The collection of data is incomplete."),
    "4103": (
        "Le registre des prescriptions du pays est inaccessible.",
        "Das Verschreibungsregister des Landes ist nicht erreichbar.",
        "The country's prescription registry cannot be accessed."),
    "4104": (
        "Les données ne sont pas accessibles pour le moment.",
        "Die Daten sind derzeit nicht zugänglich.",
        "The data cannot be accessed at the moment."),
    "4105": (
        "Aucune prescription correspondante n'a été trouvée.",
        "Es wurde keine passende Verschreibung gefunden.",
        "No matching ePrescription was found."),
    "4106": (
        "Cette prescription a déjà été délivrée.",
        "Diese Verschreibung wurde bereits abgegeben.",
        "This ePrescription has already been dispensed."),
    "4107": (
        "Le pays exige aussi le document original (PDF) pour ce type de données.",
        "Das Land verlangt für diese Daten auch das Originaldokument (PDF).",
        "The country also requires the original (PDF) document for this kind of data."),
    "4108": (
        "Le pays exige le document au format pivot eHDSI pour ce type de données.",
        "Das Land verlangt für diese Daten das Dokument im eHDSI-Pivotformat.",
        "The country requires the eHDSI pivot document for this kind of data."),
    "4201": (
        "Le pays ne propose pas cette fonction (par ex. la version originale du document).",
        "Das Land bietet diese Funktion nicht an (z. B. die Originalfassung des Dokuments).",
        "The country does not offer this feature (e.g. the original version of the document)."),
    "4202": (
        "Le pays ne propose pas ce type de document.",
        "Das Land bietet diese Dokumentart nicht an.",
        "The country does not offer this kind of document."),
    "4203": (
        "Le document n'a pas pu être traduit dans le format demandé.",
        "Das Dokument konnte nicht in das angeforderte Format übersetzt werden.",
        "The document could not be translated into the requested format."),
    "4204": (
        "Le pays ne peut pas évaluer les critères de recherche donnés.",
        "Das Land kann die angegebenen Suchkriterien nicht auswerten.",
        "The country cannot evaluate the search criteria given."),
    "4205": (
        "Le pays ne propose pas les documents à la demande.",
        "Das Land bietet keine Dokumente auf Abruf an.",
        "The country does not offer on-demand documents."),
    "4206": (
        "Le patient de la demande n'est pas celui de la relation de soins confirmée.",
        "Der Patient der Anfrage ist nicht der des bestätigten Behandlungsverhältnisses.",
        "The patient in the request is not the one of the confirmed treatment relationship."),
    "4207": (
        "Les précisions du document demandé ne correspondent pas à la relation de soins.",
        "Die Angaben zum Dokument passen nicht zum bestätigten Behandlungsverhältnis.",
        "The document details asked for do not match the confirmed treatment relationship."),
    "4701": (
        "Le patient n'a pas donné son consentement à ce service.",
        "Der Patient hat diesem Dienst nicht zugestimmt.",
        "The patient has not consented to this service."),
    "4702": (
        "Le pays exige une authentification plus forte que la vôtre.",
        "Das Land verlangt eine stärkere Anmeldung als Ihre.",
        "The country requires a stronger authentication than yours."),
    "4703": (
        "Votre rôle ne permet pas cette opération selon le pays ou le patient.",
        "Ihre Rolle erlaubt diesen Vorgang nach den Regeln des Landes oder des Patienten nicht.",
        "Your role does not allow this operation under the country's or patient's rules."),
    "4704": (
        "Le pays n'accepte ce document que signé par un professionnel de santé.",
        "Das Land nimmt dieses Dokument nur mit der Signatur einer Fachkraft an.",
        "The country accepts this document only when signed by a health professional."),
    "4705": (
        "La demande enfreint une règle du pays.",
        "Die Anfrage verstößt gegen eine Regel des Landes.",
        "The request breaks a rule of the country."),
    "4706": (
        "Le pays ne connaît pas la règle invoquée.",
        "Das Land kennt die angegebene Regel nicht.",
        "The country does not know the policy referred to."),
}

#: code -> {language: text}
TEXTS = MappingProxyType({code: MappingProxyType(dict(zip(LANGUAGES, texts, strict=True)))
                          for code, texts in _T.items()})


def text_for(code: str | None, lang: str = "en") -> str | None:
    """The text of ``code`` in ``lang`` (English when the language is not one of ours), or
    None for a code the dictionary does not hold."""
    if not code:
        return None
    entry = TEXTS.get(code.strip())
    if entry is None:
        return None
    return entry.get(lang) or entry["en"]
