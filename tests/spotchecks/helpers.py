"""Builders for the spot-check tests."""
from __future__ import annotations

import datetime as dt
import random
import re

from tests.conftest import csrf_from
from tests.exams.helpers import make_bank
from trainapp.exams.service import to_displayed
from trainapp.extensions import db
from trainapp.spotchecks import service


def standard_bank(world, name="工贸隐患判定题库", **kw):
    """A bank marked as the hazard standard of the 工贸 sector (and so of 粉尘涉爆 under it)."""
    bank = make_bank(name, **kw)
    bank.subject = "hazard_industry_trade"
    bank.sectors = [world.trade]
    db.session.commit()
    return bank


def make_check(world, ent=None, bank=None, count=5, minutes=30, now=None, seed=1, by=None):
    ent = ent or world.ent_a1
    bank = bank or standard_bank(world)
    check = service.create_check(ent, by or world.users["manager_a"], [bank], count, minutes=minutes, now=now,
                                 rng=random.Random(seed))
    db.session.commit()
    return check


def key_answers(check) -> dict[int, str]:
    """The right answers in the letters the paper shows (what a worker who knows the standard picks)."""
    return {q.position: to_displayed(q, q.version.answer) for q in check.questions}


def wrong_answers(check) -> dict[int, str]:
    """A wrong answer to every question."""
    out = {}
    for q in check.questions:
        key = to_displayed(q, q.version.answer)
        if q.version.qtype == "truefalse":
            out[q.position] = "F" if key == "T" else "T"
        else:
            out[q.position] = next(ch for ch in "ABCD" if ch not in key)
    return out


def form_data(answers: dict[int, str], name="甲一员工", last4=None, person=None) -> dict:
    data = {"name": name, "last4": last4 if last4 is not None else (person.mobile[-4:] if person else "0000")}
    for pos, letters in answers.items():
        data[f"q{pos}"] = list(letters)
    return data


def post_answers(client, check, data, csrf=True):
    url = f"/spot/{check.token}"
    if csrf:
        page = client.get(url)
        data = {**data, "csrf_token": csrf_from(page.text)}
    return client.post(url, data=data)


def later(minutes: float, base=None) -> dt.datetime:
    return (base or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(minutes=minutes)


def strip_tags(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)
