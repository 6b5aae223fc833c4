"""Append-only audit log of who changed what, and when."""
from trainapp.audit.models import AuditEvent, record

__all__ = ["AuditEvent", "record"]
