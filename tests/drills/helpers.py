"""Builders shared by the drill tests."""
from __future__ import annotations

import datetime as dt
import io

from trainapp.drills.models import Drill
from trainapp.extensions import db

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)


def make_drill(ent, held_on: dt.date, kind: str = "evacuation", **kw) -> Drill:
    values = dict(scenario="仓库起火，全员疏散", organiser="张三", participants=10, headcount_on_duty=12,
                  evacuation_seconds=180, signed_by="王总", signed_on=held_on)
    values.update(kw)
    drill = Drill(enterprise_id=ent.id, held_on=held_on, kind=kind, **values)
    db.session.add(drill)
    db.session.flush()
    return drill


def registered_long_ago(*ents) -> None:
    for ent in ents:
        ent.created_at = LONG_AGO
    db.session.commit()


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def form_data(ent, held_on: dt.date, **kw) -> dict:
    data = {"enterprise_id": str(ent.id), "held_on": held_on.isoformat(), "kind": "evacuation",
            "scenario": "二楼仓库起火，全员疏散至厂区空地", "organiser": "张三", "departments": "生产部、仓储部",
            "headcount_on_duty": "20", "participants": "18", "evacuation_time": "3:25", "problems": "东侧楼梯指示灯不亮",
            "measures": "已更换指示灯", "signed_by": "王总", "signed_on": held_on.isoformat()}
    data.update(kw)
    return data
