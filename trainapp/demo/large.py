"""A large synthetic population for benchmarks, written with bulk inserts."""
from __future__ import annotations

import random
import time

from sqlalchemy import func, insert, select

from trainapp.extensions import db
from trainapp.org.models import Enterprise, Person, Sector
from trainapp.demo.data import KINDS, PREFIXES, credit_code, ensure_geography, person_name
from trainapp.org.seed import seed_sectors

CHUNK = 20_000
SERIAL_BASE = 1_000_000  # keeps synthetic codes and mobiles apart from the small demo's


def load_large(people: int = 100_000, enterprises: int = 10_000, seed: int = 7) -> dict:
    """Add `enterprises` enterprises and `people` staff unless they are already there."""
    started = time.perf_counter()
    rng = random.Random(seed)
    seed_sectors()
    _, streets = ensure_geography()
    sectors = {s.code: s.id for s in db.session.scalars(select(Sector))}
    have = db.session.scalar(select(func.count(Enterprise.id)).where(Enterprise.name.like("合成%")))
    if have >= enterprises:
        return {"enterprises": 0, "people": 0, "seconds": 0.0}
    codes = list(KINDS)
    ent_rows = []
    for i in range(have, enterprises):
        code = codes[i % len(codes)]
        ent_rows.append({
            "credit_code": credit_code(SERIAL_BASE + i), "street_id": streets[i % len(streets)].id,
            "name": f"合成{PREFIXES[i % len(PREFIXES)]}{KINDS[code][i % 2]}{i:06d}有限公司",
            "sector_id": sectors[code], "address": "", "high_risk": i % 13 == 0, "crowded_venue": i % 7 == 0,
            "fire_key_unit": i % 17 == 0, "factory_in_factory": i % 19 == 0, "key_enterprise": i % 97 == 0,
            "headcount": 0})
    for start in range(0, len(ent_rows), CHUNK):
        db.session.execute(insert(Enterprise), ent_rows[start:start + CHUNK])
    ent_ids = db.session.scalars(select(Enterprise.id).where(Enterprise.name.like("合成%")).order_by(Enterprise.id)).all()
    per_ent = max(1, people // len(ent_ids))
    audiences = ["principal", "safety_manager", "special_worker", "special_worker"] + ["staff"] * max(0, per_ent - 4)
    employment = ("regular", "regular", "regular", "dispatched", "flexible", "outsourced")
    rows, written, serial = [], 0, SERIAL_BASE
    for ent_id in ent_ids:
        for aud in audiences[:per_ent]:
            serial += 1
            rows.append({"name": person_name(rng), "mobile": f"15{serial:09d}", "audience": aud,
                         "employment_type": employment[serial % 6] if aud == "staff" else "regular",
                         "status": "active", "enterprise_id": ent_id, "agency_id": None,
                         "department_id": None, "id_number": None, "joined_on": None})
            if len(rows) >= CHUNK:
                db.session.execute(insert(Person), rows)
                written += len(rows)
                rows = []
    if rows:
        db.session.execute(insert(Person), rows)
        written += len(rows)
    return {"enterprises": len(ent_rows), "people": written, "seconds": time.perf_counter() - started}
