"""Reference data every installation needs: the sectors the plans name (DOMAIN §2)."""
from __future__ import annotations

from sqlalchemy import select

from trainapp.extensions import db
from trainapp.org.models import Sector

# (code, 中文, English, parent code, high-risk by nature)
SECTORS = [
    ("hazardous_chemicals", "危险化学品", "Hazardous chemicals", None, True),
    ("transport", "交通运输", "Transport", None, False),
    ("construction", "建筑施工", "Construction", None, True),
    ("fire_key", "消防（重点单位）", "Fire safety key units", None, False),
    ("gas", "燃气", "Gas", None, True),
    ("industry_trade", "工贸", "Industry and trade", None, False),
    ("metal_smelting", "金属冶炼", "Metal smelting", "industry_trade", True),
    ("dust_explosion", "粉尘涉爆", "Combustible dust", "industry_trade", False),
    ("confined_space", "有限空间", "Confined spaces", "industry_trade", False),
    ("ammonia_refrigeration", "涉氨制冷", "Ammonia refrigeration", "industry_trade", False),
    ("culture_tourism", "文化旅游", "Culture and tourism", None, False),
    ("special_equipment", "特种设备", "Special equipment", None, False),
    ("healthcare", "医疗卫生", "Healthcare", None, False),
    ("commerce", "商务", "Commerce", None, False),
    ("ecology_environment", "生态环境", "Ecology and environment", None, False),
    ("greening_cityscape", "绿化市容", "Greening and cityscape", None, False),
    ("civil_defence", "人防/地下空间", "Civil defence and underground space", None, False),
    ("road_transport", "道路运输", "Road transport", None, False),
]


def seed_sectors() -> int:
    """Insert the sectors that are missing; returns how many were added."""
    existing = {s.code: s for s in db.session.scalars(select(Sector))}
    added = 0
    for code, name, name_en, parent, high_risk in SECTORS:
        if code in existing:
            continue
        sector = Sector(code=code, name=name, name_en=name_en, high_risk=high_risk,
                        parent_id=existing[parent].id if parent else None)
        db.session.add(sector)
        db.session.flush()
        existing[code] = sector
        added += 1
    return added
