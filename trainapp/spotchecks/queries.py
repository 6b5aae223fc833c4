"""Read helpers for the archive pages (一企一档, 一人一档) and the list of checks."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from trainapp.extensions import db
from trainapp.spotchecks.models import SpotCheck, SpotCheckAnswer, SpotCheckOral


@dataclass
class CheckLine:
    check: SpotCheck
    answers: int
    mean_percent: float | None
    orals: int


def lines_for(checks: list[SpotCheck]) -> list[CheckLine]:
    """The checks with their answer counts, mean scores and oral-question counts (three queries in all)."""
    ids = [c.id for c in checks]
    if not ids:
        return []
    stats = {cid: (int(n), mean) for cid, n, mean in db.session.execute(
        select(SpotCheckAnswer.spot_check_id, func.count(SpotCheckAnswer.id), func.avg(SpotCheckAnswer.percent))
        .where(SpotCheckAnswer.spot_check_id.in_(ids)).group_by(SpotCheckAnswer.spot_check_id))}
    orals = dict(db.session.execute(select(SpotCheckOral.spot_check_id, func.count(SpotCheckOral.id))
                                    .where(SpotCheckOral.spot_check_id.in_(ids))
                                    .group_by(SpotCheckOral.spot_check_id)).all())
    lines = []
    for c in checks:
        n, mean = stats.get(c.id, (0, None))
        lines.append(CheckLine(c, n, round(float(mean), 1) if mean is not None else None, int(orals.get(c.id, 0))))
    return lines


def enterprise_lines(enterprise_id: int, limit: int = 50) -> list[CheckLine]:
    """The enterprise's latest spot checks with their answer counts and mean scores."""
    return lines_for(db.session.scalars(select(SpotCheck).where(SpotCheck.enterprise_id == enterprise_id)
                                        .order_by(SpotCheck.opens_at.desc(), SpotCheck.id.desc()).limit(limit)).all())


def person_answers(person_id: int, limit: int = 50) -> list[SpotCheckAnswer]:
    """Spot-check answers matched to the person, newest first (with their check and its enterprise)."""
    return db.session.scalars(select(SpotCheckAnswer).where(SpotCheckAnswer.person_id == person_id)
                              .options(selectinload(SpotCheckAnswer.spot_check).selectinload(SpotCheck.enterprise))
                              .order_by(SpotCheckAnswer.submitted_at.desc(), SpotCheckAnswer.id.desc())
                              .limit(limit)).all()


def person_orals(person_id: int, limit: int = 50) -> list[SpotCheckOral]:
    return db.session.scalars(select(SpotCheckOral).where(SpotCheckOral.person_id == person_id)
                              .order_by(SpotCheckOral.created_at.desc(), SpotCheckOral.id.desc()).limit(limit)).all()
