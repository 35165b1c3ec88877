"""Cross-border consent: the patient's explicit consent, per eHDSI service (error 4701)."""

from ncp.consent.service import ConsentRequired, ConsentService, consent_service_for

__all__ = ["ConsentRequired", "ConsentService", "consent_service_for"]
