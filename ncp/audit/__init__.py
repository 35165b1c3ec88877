"""ATNA audit of every eHDSI transaction: build, store durably, forward over syslog/TLS.

The record is written to the database in its own transaction on every exit of a transaction,
success or error, before the answer leaves; forwarding to the audit repository happens after,
from the stored rows, so a repository outage loses nothing.
"""

from ncp.audit.message import AuditEvent, Outcome, Participant, build_audit_message

__all__ = ["AuditEvent", "Outcome", "Participant", "build_audit_message"]
