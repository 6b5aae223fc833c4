"""How long `flask demo load --size large` takes (100,000 people, 10,000 enterprises).

Runs on a fresh SQLite file, and on PostgreSQL when BENCH_DATABASE_URL is set
(`python tests/pg_cluster.py -- env ... ` style). Prints a Markdown table row per run
and the median of RUNS runs.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainapp import create_app  # noqa: E402
from trainapp.extensions import db  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
PEOPLE = int(os.environ.get("PEOPLE", "100000"))
ENTERPRISES = int(os.environ.get("ENTERPRISES", "10000"))


def one_run(url: str) -> float:
    from trainapp.demo.data import load_small
    from trainapp.demo.large import load_large

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_small()
        db.session.commit()
        started = time.perf_counter()
        load_large(people=PEOPLE, enterprises=ENTERPRISES)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.drop_all()
        db.engine.dispose()
    return elapsed


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    label = "PostgreSQL" if url else "SQLite"
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(one_run(url or f"sqlite:///{tmp}/bench.sqlite3"))
    med = statistics.median(times)
    print(f"| demo load large ({PEOPLE:,} people, {ENTERPRISES:,} enterprises) | {label} | "
          f"{med:.2f} s | {PEOPLE / med:,.0f} people/s | {os.cpu_count()} cores | runs: "
          + ", ".join(f"{t:.2f}" for t in times) + " |")


if __name__ == "__main__":
    main()
