"""A few demo drills, so the demo shows every status (the first enterprise is left without one)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from trainapp.drills import service
from trainapp.drills.models import Drill
from trainapp.extensions import db

DEMO_REGISTERED = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SCENARIOS = ["仓库起火，全员经安全出口疏散至集合点", "配电房短路冒烟，启动灭火和应急疏散预案",
             "化学品泄漏，按专项应急预案疏散并警戒", "夜班车间起火，班组长组织疏散"]


def ensure_demo_drills(enterprises) -> int:
    """Date the demo enterprises' registration to 2024 and add drills; does nothing the second time."""
    ids = [e.id for e in enterprises]
    if not ids or db.session.scalar(select(func.count(Drill.id)).where(Drill.enterprise_id.in_(ids))):
        return 0
    today = service.today()
    for ent in enterprises:
        ent.created_at = DEMO_REGISTERED
    added = 0
    for i, ent in enumerate(enterprises[1:13], start=1):
        # spread over the last ~20 months: recent ones are up to date, old ones overdue or due soon
        held_on = today - dt.timedelta(days=35 * i + 3)
        on_duty = max(ent.headcount or 0, 12)
        db.session.add(Drill(
            enterprise_id=ent.id, held_on=held_on, kind="evacuation" if i % 3 else "fire",
            scenario=SCENARIOS[i % len(SCENARIOS)], organiser="安全管理员", departments="生产部、行政部",
            participants=on_duty - i % 4, headcount_on_duty=on_duty, evacuation_seconds=120 + 15 * i,
            problems="部分员工未按指定路线疏散" if i % 2 else "", measures="组织专题复训" if i % 2 else "",
            revision_state="open" if i % 5 == 0 else ("closed" if i % 4 == 0 else None),
            revision_closed_on=held_on + dt.timedelta(days=20) if i % 4 == 0 and i % 5 else None,
            revision_notes="补充夜间疏散程序" if i % 4 == 0 and i % 5 else "",
            signed_by="单位负责人", signed_on=held_on, source="form"))
        added += 1
    db.session.flush()
    return added
