"""Coverage reports on a generated district: the sector × street matrix, the full xlsx export, the monthly PDF.

    .venv/bin/python benchmarks/bench_coverage.py                       # SQLite only
    .venv/bin/python tests/pg_cluster.py -- .venv/bin/python benchmarks/bench_coverage.py   # and PostgreSQL

Data (bulk inserted, not timed), for each size in SIZES (people; default 100000,1000000):
people/10 enterprises over the demo district's streets and every sector (flags as `flask demo load
--size large` sets them), ten people each (a principal, a safety manager, two special workers, six
staff; a sixth of the staff 劳务派遣 or flexible), three training records per person spread over
2024–2026 (3,000,000 rows at a million people), an e-certificate for 60 % of the principals and safety
managers, a permit for 70 % of the special workers (some expired), and 2 % of the people left.

Timed, signed in as the district admin (everything in scope), for the year 2026:
1. the sector × street matrix of the staff measure (the largest population: 80 % of the people, each
   with a yearly 学时 rule) and of the principals measure — `service.matrix`, i.e. the grouped SQL and
   the pandas pivot; median of RUNS runs after one warm-up;
2. the full xlsx workbook (summary, a sheet per measure, every missing-people list), in a fresh child
   process that reports its wall time and peak RSS (the whole process, Python and libraries included);
3. the monthly report PDF for the month before today's (all measures by street, the chart, the list).

Environment: SIZES, RUNS (default 3), SKIP_EXPORT=1 to leave out step 2. REUSE=1 keeps the data a previous
run left (SQLite files in BENCH_DIR, default a new temporary directory; the PostgreSQL database of
BENCH_DATABASE_URL, where `{people}` in the URL is replaced by the size) instead of loading it again.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = max(1, int(os.environ.get("RUNS", "3")))
SIZES = [int(s) for s in os.environ.get("SIZES", "100000,1000000").split(",") if s]
YEAR = 2026
CHUNK = 20_000


def build(db, people: int) -> dict:
    from sqlalchemy import insert, select, update

    from trainapp.auth.models import RoleGrant, User
    from trainapp.certificates import service as cert_service
    from trainapp.certificates.models import Certificate, Permit
    from trainapp.courses.compliance import seed_requirements
    from trainapp.courses.models import TrainingRecord
    from trainapp.coverage.service import seed_targets
    from trainapp.demo.large import load_large
    from trainapp.org.models import Person

    t0 = time.perf_counter()
    load_large(people=people, enterprises=people // 10)
    db.session.commit()
    seed_requirements()
    seed_targets()
    tpl = cert_service.ensure_default_template()
    db.session.commit()
    rnd = random.Random(20261123)
    rows = db.session.execute(select(Person.id, Person.enterprise_id, Person.audience).order_by(Person.id)).all()
    left = [pid for pid, _e, _a in rows[7::50]]  # staff, not always the same audience
    for start in range(0, len(left), CHUNK):
        db.session.execute(update(Person).where(Person.id.in_(left[start:start + CHUNK])).values(status="left"))
    first = dt.date(2024, 1, 1).toordinal()
    span = dt.date(2026, 11, 20).toordinal() - first
    records, certs, permits, n_records = [], [], [], 0

    def flush(force=False):
        nonlocal records, certs, permits, n_records
        if records and (force or len(records) >= CHUNK):
            db.session.execute(insert(TrainingRecord), records)
            n_records += len(records)
            records = []
        if certs and (force or len(certs) >= CHUNK):
            db.session.execute(insert(Certificate), certs)
            certs = []
        if permits and (force or len(permits) >= CHUNK):
            db.session.execute(insert(Permit), permits)
            permits = []

    for pid, ent, audience in rows:
        for j in range(3):
            records.append({"person_id": pid, "enterprise_id": ent, "kind": "classroom" if j else "lesson",
                            "title": "安全生产培训", "content": "", "hours": rnd.choice((1.0, 2.0, 4.0, 8.0)),
                            "occurred_on": dt.date.fromordinal(first + rnd.randrange(span)), "teacher": "",
                            "result": ""})
        if audience in ("principal", "safety_manager") and rnd.random() < 0.6:
            issued = dt.date.fromordinal(first + rnd.randrange(span))
            certs.append({"number": f"SH-BEN-{pid}", "code": f"b{pid}", "template_id": tpl.id, "person_id": pid,
                          "holder_name": "基准", "exam_title": "重大事故隐患判定标准考试", "issued_on": issued,
                          "valid_until": issued + dt.timedelta(days=365), "enterprise_id": ent, "status": "valid",
                          "id_masked": "", "unit_name": "", "audience": audience, "subject_name": "", "score": 90.0,
                          "max_score": 100.0, "issuing_body": ""})
        if audience == "special_worker" and rnd.random() < 0.7:
            issued = dt.date(2020 + rnd.randrange(6), 1 + rnd.randrange(12), 1)
            permits.append({"person_id": pid, "enterprise_id": ent, "operation_type": "电工作业", "number": f"T{pid}",
                            "authority": "", "issued_on": issued, "valid_until": issued + dt.timedelta(days=6 * 365),
                            "next_review_on": None})
        flush()
    flush(force=True)
    admin = User(username="bench_admin", display_name="基准管理员")
    admin.set_password("Bench@2026x")
    admin.grants = [RoleGrant(role="admin")]
    db.session.add(admin)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # As autovacuum does shortly after a bulk load: statistics, and the visibility map that lets the
        # per-person 学时 totals be read from the index alone.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"people": len(rows), "enterprises": people // 10, "records": n_records, "admin_id": admin.id,
            "load_s": time.perf_counter() - t0}


def reuse(db, people: int) -> dict | None:
    """With REUSE=1: the data a previous run of this script left in the database, if it has this size."""
    from sqlalchemy import func, inspect, select

    from trainapp.auth.models import User
    from trainapp.courses.models import TrainingRecord
    from trainapp.org.models import Enterprise, Person

    if os.environ.get("REUSE") != "1" or not inspect(db.engine).has_table("person"):
        return None
    admin_id = db.session.scalar(select(User.id).where(User.username == "bench_admin"))
    if admin_id is None or db.session.scalar(select(func.count(Person.id))) != people:
        return None
    return {"people": people, "enterprises": db.session.scalar(select(func.count(Enterprise.id))),
            "records": db.session.scalar(select(func.count(TrainingRecord.id))), "admin_id": admin_id,
            "load_s": None}


def rss_mb() -> float:
    """Peak resident memory of this process so far (VmHWM; ru_maxrss would carry the parent's over exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str, admin_id: int) -> None:
    """Run in a fresh process: write the full workbook and report time and peak memory."""
    from trainapp import create_app
    from trainapp.auth.models import User
    from trainapp.coverage import exports
    from trainapp.coverage.measures import Period
    from trainapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.test_request_context("/"):
        user = db.session.get(User, admin_id)
        before = rss_mb()
        t0 = time.perf_counter()
        path = exports.workbook(user, Period.year_of(YEAR, dt.date(2026, 11, 23)))
        seconds = time.perf_counter() - t0
        size = os.path.getsize(path)
        os.unlink(path)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss_mb(), "rss_before_mb": before,
                      "file_mb": size / 1e6}))


def timed(fn, runs=RUNS):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def bench(url: str, label: str, people: int) -> list[str]:
    from trainapp import create_app
    from trainapp.auth.models import User
    from trainapp.coverage import exports, service
    from trainapp.coverage.measures import MEASURES, Period
    from trainapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    out = []
    with app.app_context():
        info = reuse(db, people)
        if info is None:
            db.drop_all()
            db.create_all()
            info = build(db, people)
        took = "reused" if info["load_s"] is None else f"in {info['load_s']:.0f} s"
        print(f"# {label}: loaded {info['people']:,} people, {info['enterprises']:,} enterprises, "
              f"{info['records']:,} training records {took}", flush=True)
    with app.test_request_context("/"):
        user = db.session.get(User, info["admin_id"])
        period = Period.year_of(YEAR, dt.date(2026, 11, 23))
        for code in ("staff", "principals"):
            med, runs = timed(lambda: service.matrix(MEASURES[code], user, period))
            mx = service.matrix(MEASURES[code], user, period)
            out.append(f"| {label} | {people:,} | matrix `{code}` ({mx.overall.total:,} in population, "
                       f"{len(mx.cell)} cells) | {med:.2f} s | {', '.join(f'{r:.2f}' for r in runs)} |")
            print(out[-1], flush=True)
        med, runs = timed(lambda: exports.report_pdf(user, 2026, 10, dt.date(2026, 11, 23), "基准区"))
        out.append(f"| {label} | {people:,} | monthly report PDF | {med:.2f} s | {', '.join(f'{r:.2f}' for r in runs)} |")
        print(out[-1], flush=True)
        db.session.remove()
    if not os.environ.get("SKIP_EXPORT"):
        res = subprocess.run([sys.executable, __file__, "export", url, str(info["admin_id"])], capture_output=True,
                             text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        out.append(f"| {label} | {people:,} | full xlsx workbook ({r['file_mb']:.0f} MB) | {r['seconds']:.1f} s | "
                   f"peak RSS {r['peak_rss_mb']:.0f} MB (process at start {r['rss_before_mb']:.0f} MB) |")
        print(out[-1], flush=True)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        export_child(sys.argv[2], int(sys.argv[3]))
        return
    targets = []
    tmp = os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-coverage-")
    targets.append((f"sqlite:///{tmp}/bench-{{people}}.sqlite3", "SQLite"))
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")  # may hold {people}
    if pg:
        targets.append((pg, "PostgreSQL"))
    print(f"cores: {os.cpu_count()}, runs: {RUNS}")
    print("| database | people | step | median | runs (s) / memory |\n|---|---|---|---|---|")
    rows = []
    for people in SIZES:
        for url, label in targets:
            url = url.replace("{people}", str(people))
            if url.startswith("sqlite") and os.environ.get("REUSE") != "1":
                path = url.removeprefix("sqlite:///")
                if os.path.exists(path):
                    os.unlink(path)
            rows += bench(url, label, people)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
