"""Yearly compliance page of a 5,000-person enterprise, and one person's archive PDF.

    .venv/bin/python benchmarks/bench_compliance.py                      # SQLite only
    .venv/bin/python tests/pg_cluster.py -- .venv/bin/python benchmarks/bench_compliance.py   # and PostgreSQL

Data (bulk inserted, not timed): one enterprise with STAFF people (default 5,000) in 5 departments and
all audiences (some joined this year, some with a post change), about 15 TrainingRecords each over
last and this year (75,000 rows), 1% of them corrected (a correction row each), the national rules
seeded; plus one person with 30 records (one corrected) for the PDF.

Timed, through the Flask test client signed in as the enterprise's admin (routing, sign-in, scope,
queries, template):

1. GET /archive/enterprises/<id>/compliance?year=… : every active person's required/accrued/status
   (one grouped SQL sum for the year), first page of 100 rendered. Target ≤ 500 ms.
2. GET /archive/people/<id>.pdf : the 30-record archive as an A4 PDF (WeasyPrint), after one warm-up
   render. Target ≤ 300 ms.
3. (for information) GET …/compliance.xlsx : all STAFF rows as xlsx.

Each is the median of RUNS runs (default 7, at least 5) after one untimed warm-up request; the CPU
column is this process's CPU time for the same requests (less sensitive to other load on the machine).
On PostgreSQL the tables are ANALYZEd after the bulk load (see the README for why).
Runs on a temporary SQLite file, and also on PostgreSQL when TEST_DATABASE_URL (or BENCH_DATABASE_URL)
is set. Environment: RUNS, STAFF, RECORDS (per person, default 15).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = max(5, int(os.environ.get("RUNS", "7")))
STAFF = int(os.environ.get("STAFF", "5000"))
RECORDS = int(os.environ.get("RECORDS", "15"))
YEAR = 2026
PASSWORD = "Bench@2026x"
TITLES = ["安全生产法解读", "上海市安全生产条例", "十五条硬措施", "重大事故隐患判定标准", "粉尘防爆专题培训",
          "有限空间作业培训", "消防安全培训", "应急演练", "危险化学品安全", "特种设备安全"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]


def build(db):
    from sqlalchemy import insert, select

    from trainapp.auth.models import RoleGrant, User
    from trainapp.courses.compliance import seed_requirements
    from trainapp.courses.models import PersonEvent, TrainingRecord
    from trainapp.org.models import Department, District, Enterprise, Person, Sector, Street

    rnd = random.Random(20261123)
    district = District(code="BEN", name="基准区")
    db.session.add(district)
    db.session.flush()
    street = Street(district_id=district.id, name="基准街道")
    sector = Sector(code="industry_trade", name="工贸")
    db.session.add_all([street, sector])
    db.session.flush()
    ent = Enterprise(credit_code="91310115BENCH0001X", name="基准机械制造有限公司", street_id=street.id,
                     sector_id=sector.id, headcount=STAFF)
    db.session.add(ent)
    db.session.flush()
    deps = [Department(enterprise_id=ent.id, name=f"第{i}车间") for i in range(1, 6)]
    db.session.add_all(deps)
    db.session.flush()
    audiences = ["staff"] * 80 + ["special_worker"] * 12 + ["safety_manager"] * 6 + ["principal"] * 2
    people = []
    for i in range(STAFF):
        joined = dt.date(YEAR, 1 + i % 10, 1) if i % 12 == 0 else dt.date(2015 + i % 10, 1 + i % 12, 1)
        people.append({"name": SURNAMES[i % 20] + GIVEN[(i * 7) % 20] + str(i), "mobile": f"1380{i:07d}",
                       "audience": audiences[i % 100], "employment_type": "regular", "enterprise_id": ent.id,
                       "department_id": deps[i % 5].id, "status": "left" if i % 50 == 49 else "active",
                       "joined_on": joined})
    people.append({"name": "档案样例", "mobile": "13900000000", "audience": "principal", "employment_type": "regular",
                   "enterprise_id": ent.id, "department_id": deps[0].id, "status": "active",
                   "joined_on": dt.date(2019, 3, 1)})
    db.session.execute(insert(Person), people)
    ids = db.session.scalars(select(Person.id).where(Person.enterprise_id == ent.id).order_by(Person.id)).all()
    sample_id = ids[-1]
    rows = []
    for pid in ids:
        n = 30 if pid == sample_id else RECORDS
        for j in range(n):
            year = YEAR if j % 3 else YEAR - 1
            rows.append({"person_id": pid, "enterprise_id": ent.id, "kind": "classroom" if j % 2 else "lesson",
                         "title": TITLES[(pid + j) % len(TITLES)], "content": "", "hours": rnd.choice((0.5, 1, 2, 4)),
                         "occurred_on": dt.date(year, 1 + (pid + j) % 12, 1 + j % 28), "teacher": "王老师",
                         "result": "合格"})
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(TrainingRecord), rows[start:start + 5000])
    # 1% corrected (and the sample person's first record), each by a correction row.
    to_fix = db.session.execute(select(TrainingRecord).where(TrainingRecord.id % 100 == 7)).scalars().all()
    to_fix.append(db.session.scalar(select(TrainingRecord).where(TrainingRecord.person_id == sample_id)
                                    .order_by(TrainingRecord.id).limit(1)))
    fixes = [{"person_id": r.person_id, "enterprise_id": r.enterprise_id, "kind": r.kind, "title": r.title,
              "content": "", "hours": r.hours + 1, "occurred_on": r.occurred_on, "teacher": r.teacher,
              "result": r.result, "corrects_id": r.id} for r in to_fix]
    db.session.execute(insert(TrainingRecord), fixes)
    db.session.execute(insert(PersonEvent), [{"person_id": pid, "kind": "post_change", "on": dt.date(YEAR, 6, 1),
                                              "note": ""} for pid in ids[5::97]])
    seed_requirements()
    admin = User(username="entadmin", display_name="企业管理员")
    admin.set_password(PASSWORD)
    admin.grants = [RoleGrant(role="enterprise_admin", enterprise_id=ent.id)]
    db.session.add(admin)
    db.session.commit()
    return ent.id, sample_id, len(rows) + len(fixes)


def timed(client, url: str) -> tuple[float, list[float], float, object]:
    """Median wall time (ms), the runs, median CPU time of this process (ms), the last response."""
    resp = client.get(url)  # warm-up
    assert resp.status_code == 200, (url, resp.status_code)
    runs, cpu = [], []
    for _ in range(RUNS):
        t0, c0 = time.perf_counter(), time.process_time()
        resp = client.get(url)
        runs.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert resp.status_code == 200
    return statistics.median(runs), runs, statistics.median(cpu), resp


def bench(url: str, label: str) -> None:
    from trainapp import create_app
    from trainapp.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
        t0 = time.perf_counter()
        ent_id, sample_id, n_records = build(db)
        built = time.perf_counter() - t0
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does shortly after a bulk load; without statistics the planner expects one
            # row everywhere and loops over the date index once per person (seconds instead of ms).
            from sqlalchemy import text

            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    client = app.test_client()
    page = client.get("/auth/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    resp = client.post("/auth/login", data={"login": "entadmin", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.status_code

    load_before = os.getloadavg()[0]
    page_ms, page_runs, page_cpu, resp = timed(client, f"/archive/enterprises/{ent_id}/compliance?year={YEAR}")
    counted = re.search(r"共 (\d+) 人", resp.text).group(1)
    pdf_ms, pdf_runs, pdf_cpu, resp = timed(client, f"/archive/people/{sample_id}.pdf")
    pdf_kb = len(resp.data) / 1024
    xlsx_ms, xlsx_runs, xlsx_cpu, resp = timed(client, f"/archive/enterprises/{ent_id}/compliance.xlsx?year={YEAR}")
    print(f"\n{label}: {STAFF} staff ({counted} active), {n_records} records, built in {built:.1f} s; "
          f"{RUNS} runs, {os.cpu_count()} cores, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print("| measurement | median (wall) | median CPU | target | runs (ms) |")
    print("|---|---|---|---|---|")
    print(f"| compliance page (GET, first 100 of {counted} rows) | {page_ms:.0f} ms | {page_cpu:.0f} ms | ≤ 500 ms | "
          f"{', '.join(f'{x:.0f}' for x in page_runs)} |")
    print(f"| person archive PDF (30 records, {pdf_kb:.0f} KB) | {pdf_ms:.0f} ms | {pdf_cpu:.0f} ms | ≤ 300 ms | "
          f"{', '.join(f'{x:.0f}' for x in pdf_runs)} |")
    print(f"| compliance xlsx ({counted} rows) | {xlsx_ms:.0f} ms | {xlsx_cpu:.0f} ms | — | "
          f"{', '.join(f'{x:.0f}' for x in xlsx_runs)} |")
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="bench-compliance-")
    bench(f"sqlite:///{tmp}/bench.sqlite3", "SQLite (temporary file, WAL)")
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        bench(pg, "PostgreSQL")


if __name__ == "__main__":
    main()
