"""The learner's home page with 50 enrolments (target ≤ 150 ms), and the course list page.

    .venv/bin/python benchmarks/bench_learner_home.py
    .venv/bin/python tests/pg_cluster.py -- .venv/bin/python benchmarks/bench_learner_home.py

One learner in the demo population, enrolled in 50 courses of 6 lessons each with some lessons done
(and their training records), two open exams and a few certificates; GET /home and GET /courses/
through the Flask test client, signed in, after 3 warm-up requests. Median of RUNS (default 30).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
RUNS = int(os.environ.get("RUNS", "30"))


def main() -> None:
    from sqlalchemy import select

    from trainapp import create_app
    from trainapp.auth.models import User
    from trainapp.courses import service
    from trainapp.courses.models import Course, Lesson
    from trainapp.demo.data import DEMO_PASSWORD, load_small
    from trainapp.extensions import db
    from trainapp.org.seed import seed_sectors
    from trainapp.questionbank.service import load_shipped, shipped_directory

    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-home-')}/bench.sqlite3"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_sectors()
        load_shipped(shipped_directory())
        load_small()
        db.session.commit()
        user = db.session.scalar(select(User).where(User.mobile == "13700000001"))
        person = user.person
        t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        for n in range(50):
            course = Course(title=f"基准课程 {n + 1}", status="published", idle_minutes=5,
                            lessons=[Lesson(position=i, title=f"第 {i} 节", kind="text", body_md="正文",
                                            body_html="<p>正文</p>", hours=0.5, min_seconds=30) for i in range(1, 7)])
            db.session.add(course)
            db.session.flush()
            enrolment = service.enrol(person, course, source="enterprise" if n % 2 else "self",
                                      due_on=dt.date(2026, 12, 1) + dt.timedelta(days=n) if n % 2 else None)
            for lesson in course.lessons[: n % 4]:
                for k in range(4):
                    service.beat(enrolment, lesson, at_end=True, now=t0 + dt.timedelta(seconds=15 * k))
        db.session.commit()
        client = app.test_client()
        page = client.get("/auth/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        client.post("/auth/login", data={"login": "13700000001", "password": DEMO_PASSWORD, "csrf_token": token})
        for path in ("/home", "/courses/"):
            for _ in range(3):
                assert client.get(path).status_code == 200
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200
            database = "PostgreSQL" if "postgresql" in url else "SQLite"
            print(f"| {path} (50 enrolments) | {database} | {statistics.median(times):.0f} ms median | "
                  f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:.0f} ms | {RUNS} runs | {os.cpu_count()} cores |")


if __name__ == "__main__":
    main()
