"""The audit event table; rows are only ever inserted."""
from __future__ import annotations

import datetime as dt

from flask_login import current_user
from sqlalchemy import JSON, DateTime, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trainapp.extensions import db
from trainapp.models import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    actor = relationship("User")


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper, connection, target):  # pragma: no cover - guarded by a test
    raise PermissionError("audit events are append-only")


def record(action: str, entity, summary: str = "", actor=None, **details) -> AuditEvent:
    """Add an audit event for `entity` (a model instance); flushed with the caller's work."""
    if actor is None and current_user and getattr(current_user, "is_authenticated", False):
        actor = current_user
    entity = _unproxy(entity)
    actor = _unproxy(actor)
    db.session.flush()  # make sure the entity has its id
    ev = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        entity_type=type(entity).__tablename__,
        entity_id=getattr(entity, "id", None),
        summary=summary[:300],
        details={k: _plain(v) for k, v in details.items()},
    )
    db.session.add(ev)
    return ev


def _unproxy(obj):
    """Accept `current_user` and other proxies as the object they stand for."""
    getter = getattr(obj, "_get_current_object", None)
    return getter() if getter else obj


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
