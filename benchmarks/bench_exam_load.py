"""Exam load: many learners start, answer and submit a 40-question exam under gunicorn on PostgreSQL.

    .venv/bin/python benchmarks/bench_exam_load.py            # starts its own throwaway PostgreSQL
    .venv/bin/python tests/pg_cluster.py -- .venv/bin/python benchmarks/bench_exam_load.py   # the same

What it does:

1. Database: TEST_DATABASE_URL or BENCH_DATABASE_URL (an empty, throwaway database); without either it
   re-runs itself under tests/pg_cluster.py (PostgreSQL with fsync, synchronous_commit and
   full_page_writes off). `flask db upgrade`, `flask demo seed`, `flask questionbank load-shipped`,
   `flask demo load`.
2. Population: ACCOUNTS learner accounts (`bench00001`...; User with a username, linked to a new Person
   of a demo enterprise, RoleGrant learner), bulk-inserted with one shared cheap password hash
   (pbkdf2:sha256:1000), so signing in costs ~1 ms instead of scrypt's ~50-100 ms.
3. For every run: a fresh published exam of 40 questions (20 single + 10 multiple + 10 true/false drawn
   from the shipped bank `work_safety_law`, options and questions shuffled, 60 minutes, one attempt);
   gunicorn (`benchmarks.wsgi_bench:app`, GUNICORN_ARGS) on a free loopback port; locust headless
   (benchmarks/locustfile_exam.py, one process, FastHttpUser) with USERS learners spawned evenly over
   WINDOW seconds; the run ends when every learner has submitted and seen the result page.
4. Verification against the database after each run: every acknowledged answer's last value per
   (attempt, position) is what is stored (mapped back to the letters shown with service.to_displayed);
   no answer is stored that was not acknowledged; exactly one attempt per learner, each 'submitted',
   not auto-submitted, scored, every item graded and the score the sum of the items; and each question's
   times_answered / times_correct grew by exactly the number of submitted items (correct items) that
   used it, so the sum of times_answered grew by 40 x attempts (graded once).

Runs: the scenario of the issue (MAIN_USERS=500 learners starting within WINDOW=60 s, all 40 answers,
think time THINK="2,5" s), MAIN_RUNS times; then the knee series: for each rate in SERIES_RATES
(learners starting per minute, default "125,250,500,1000,1500") a run of rate x SERIES_WINDOW/60 learners
(SERIES_WINDOW default 30 s) who answer SERIES_ANSWERS (default 10) questions each. SERIES_RATES="" skips the series; MAIN_RUNS=0 skips the main
run. Results are printed as Markdown and written as JSON to BENCH_RESULTS
(default /tmp/trainapp_bench_exam_load.json).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")

MAIN_USERS = int(os.environ.get("MAIN_USERS", "500"))
MAIN_RUNS = int(os.environ.get("MAIN_RUNS", "1"))
WINDOW = float(os.environ.get("WINDOW", "60"))
THINK = os.environ.get("THINK", "2,5")
CHANGE_P = os.environ.get("CHANGE_P", "0.1")
SERIES_RATES = [int(x) for x in os.environ.get("SERIES_RATES", "125,250,500,1000,1500").split(",") if x.strip()]
SERIES_ANSWERS = int(os.environ.get("SERIES_ANSWERS", "10"))
SERIES_WINDOW = float(os.environ.get("SERIES_WINDOW", "30"))
GUNICORN_ARGS = os.environ.get("GUNICORN_ARGS", "-w 4 -k gthread --threads 4")
RESULTS = os.environ.get("BENCH_RESULTS", "/tmp/trainapp_bench_exam_load.json")
BANK_KEY = "work_safety_law"
BLUEPRINT = [("single", 20), ("multiple", 10), ("truefalse", 10)]
PASSWORD = "Bench@2026"
TARGETS = {"POST /exams/attempts/[id]/answer": 300.0, "POST /exams/[id]/start": 800.0,
           "POST /exams/attempts/[id]/submit": 800.0}
KNEE_MS = 1000.0
KNEE_ENDPOINTS = ("POST /exams/[id]/start", "GET /exams/attempts/[id] (paper)", "POST /exams/attempts/[id]/answer",
                  "POST /exams/attempts/[id]/submit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- setup ------------------------------------------------------------------------------------------

def flask_cmd(env: dict, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([os.path.join(VENV_BIN, "flask"), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def make_population(accounts: int) -> list[str]:
    """ACCOUNTS learners with Person records in the demo enterprises; returns their sign-in names."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from trainapp.auth.models import RoleGrant, User
    from trainapp.extensions import db
    from trainapp.models import utcnow
    from trainapp.org.models import Enterprise, Person

    enterprises = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    rows = [{"name": f"压测学员{i:05d}", "mobile": f"139{i:08d}", "audience": "staff", "employment_type": "regular",
             "status": "active", "enterprise_id": enterprises[i % len(enterprises)], "agency_id": None,
             "department_id": None, "id_number": None} for i in range(1, accounts + 1)]
    db.session.execute(insert(Person), rows)
    person_ids = dict(db.session.execute(select(Person.mobile, Person.id).where(Person.mobile.like("139%"))).all())
    pw_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = utcnow()
    logins = [f"bench{i:05d}" for i in range(1, accounts + 1)]
    db.session.execute(insert(User), [
        {"username": login, "mobile": None, "password_hash": pw_hash, "display_name": "",
         "person_id": person_ids[f"139{i:08d}"], "is_active_account": True, "must_change_password": False,
         "session_version": 1, "created_at": now, "updated_at": now}
        for i, login in enumerate(logins, 1)])
    user_ids = dict(db.session.execute(select(User.username, User.id).where(User.username.like("bench%"))).all())
    db.session.execute(insert(RoleGrant), [{"user_id": user_ids[login], "role": "learner"} for login in logins])
    db.session.commit()
    return logins


def make_exam(label: str) -> int:
    from sqlalchemy import select

    from trainapp.exams.models import Exam, ExamPart
    from trainapp.exams.service import blueprint_shortfalls
    from trainapp.extensions import db
    from trainapp.questionbank.models import QuestionBank

    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == BANK_KEY))
    exam = Exam(title=f"压测考试 {label}", subject=BANK_KEY, status="published", audiences=[], time_limit_minutes=60,
                pass_percent=60, max_attempts=1, retry_wait_minutes=0, counts="highest", shuffle_questions=True,
                shuffle_options=True, one_per_page=True, review_content="full", review_when="immediately",
                points_single=2, points_multiple=3, points_truefalse=1, partial_credit=False, description="")
    for position, (qtype, count) in enumerate(BLUEPRINT):
        exam.parts.append(ExamPart(position=position, bank_id=bank.id, qtype=qtype, count=count, tag=""))
    db.session.add(exam)
    db.session.flush()
    assert not blueprint_shortfalls(exam), blueprint_shortfalls(exam)
    db.session.commit()
    return exam.id


def question_counters() -> dict[int, tuple[int, int]]:
    from sqlalchemy import select

    from trainapp.extensions import db
    from trainapp.questionbank.models import Question

    return {qid: (a, c) for qid, a, c in db.session.execute(
        select(Question.id, Question.times_answered, Question.times_correct))}


# --- one run ----------------------------------------------------------------------------------------

def start_gunicorn(env: dict, port: int, log: str):
    cmd = [os.path.join(VENV_BIN, "gunicorn"), *shlex.split(GUNICORN_ARGS), "-b", f"127.0.0.1:{port}",
           "--error-logfile", log, "benchmarks.wsgi_bench:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise SystemExit(f"gunicorn did not come up; see {log}")
    for _ in range(20):  # let every worker render the sign-in page once (templates, first connections)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=10).read()
    return proc


def cpu_of(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except Exception:  # noqa: BLE001 - a process that ended
            pass
    return total


def postgres_procs(db_port: int | None):
    import psutil

    if db_port is None:
        return []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "postgres" in cmd and f"-p {db_port}" in cmd and "pg_ctl" not in cmd:
            return [p, *p.children(recursive=True)]
    return []


class Sampler(threading.Thread):
    """Every STEP seconds: machine CPU busy, gunicorn workers' and PostgreSQL's cores, so a latency spike
    can be told apart from other work on the machine taking the CPU."""

    STEP = 10.0

    def __init__(self, workers, db_port: int | None) -> None:
        super().__init__(daemon=True)
        self.workers, self.db_port, self.rows = workers, db_port, []
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        ncpu = os.cpu_count() or 1
        busy = lambda t: t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)  # noqa: E731
        pg = {p.pid: p for p in postgres_procs(self.db_port)}
        last = (time.time(), busy(psutil.cpu_times()), cpu_of(self.workers),
                {pid: cpu_of([p]) for pid, p in pg.items()})
        t0 = last[0]
        while not self.stop_event.wait(self.STEP):
            pg.update({p.pid: p for p in postgres_procs(self.db_port)})
            now = (time.time(), busy(psutil.cpu_times()), cpu_of(self.workers),
                   {pid: cpu_of([p]) for pid, p in pg.items()})
            dt_s = now[0] - last[0]
            pg_s = sum(v - last[3].get(pid, 0.0) for pid, v in now[3].items())
            self.rows.append({"t": round(now[0] - t0), "machine_cores": (now[1] - last[1]) / dt_s,
                              "gunicorn_cores": (now[2] - last[2]) / dt_s, "postgres_cores": pg_s / dt_s,
                              "ncpu": ncpu})
            last = now


def timeline(run: dict, workdir: str) -> str:
    """Per 10 s: requests/s and answer p50/p95 (locust's 10 s window) beside the CPU samples."""
    import csv

    path = os.path.join(workdir, f"locust-{run['label']}_stats_history.csv")
    if not os.path.exists(path):
        return ""
    rows = [r for r in csv.DictReader(open(path)) if r["Name"] in ("Aggregated", "POST /exams/attempts/[id]/answer")]
    if not rows:
        return ""
    t0 = int(rows[0]["Timestamp"])
    agg = {int(r["Timestamp"]) - t0: r for r in rows if r["Name"] == "Aggregated"}
    ans = {int(r["Timestamp"]) - t0: r for r in rows if r["Name"] != "Aggregated"}
    out = ["| t (s) | users | req/s | answer p50 ms | answer p95 ms | machine cores busy | gunicorn | PostgreSQL |",
           "|---|---|---|---|---|---|---|---|"]
    for sample in run.get("cpu_timeline", []):
        t = sample["t"]
        near = min(agg, key=lambda k: abs(k - t))
        a = ans.get(min(ans, key=lambda k: abs(k - t))) if ans else None
        out.append(f"| {t} | {agg[near]['User Count']} | {float(agg[near]['Requests/s']):.0f} | "
                   f"{a['50%'] if a else '-'} | {a['95%'] if a else '-'} | {sample['machine_cores']:.2f} | "
                   f"{sample['gunicorn_cores']:.2f} | {sample['postgres_cores']:.2f} |")
    return "\n".join(out)


def one_run(label: str, env: dict, logins: list[str], users: int, answers: int, window: float, workdir: str,
            db_port: int | None, rate: float | None = None) -> dict:
    import psutil

    from trainapp.extensions import db

    exam_id = make_exam(label)
    before = question_counters()
    db.session.remove()
    port = free_port()
    glog = os.path.join(workdir, f"gunicorn-{label}.log")
    gunicorn = start_gunicorn(env, port, glog)
    out = os.path.join(workdir, f"locust-{label}.json")
    think_max = float(THINK.split(",")[1])
    per_user = (answers or 40) * 1.1 * think_max + 2 * think_max
    cap = int(window + per_user + 300)
    lenv = {**env, "BENCH_EXAM_ID": str(exam_id), "BENCH_LOGINS": ",".join(logins[:users]),
            "BENCH_PASSWORD": PASSWORD, "BENCH_ANSWERS": str(answers), "BENCH_THINK": THINK,
            "BENCH_CHANGE_P": CHANGE_P, "BENCH_OUT": out}
    cmd = [os.path.join(VENV_BIN, "locust"), "-f", os.path.join(ROOT, "benchmarks", "locustfile_exam.py"),
           "--headless", "--only-summary", "-u", str(users), "-r", f"{users / window:.4f}",
           "--host", f"http://127.0.0.1:{port}", "-t", f"{cap}s",
           "--loglevel", "WARNING", "--exit-code-on-error", "0",
           "--csv", os.path.join(workdir, f"locust-{label}"), "--csv-full-history"]
    llog = os.path.join(workdir, f"locust-{label}.log")
    gproc = psutil.Process(gunicorn.pid)
    workers = gproc.children()
    pg = postgres_procs(db_port)
    g0, p0, sys0 = cpu_of(workers), cpu_of(pg), psutil.cpu_times()
    load0 = os.getloadavg()
    sampler = Sampler(workers, db_port)
    sampler.start()
    started = time.time()
    with open(llog, "w") as fh:
        rc = subprocess.run(cmd, cwd=ROOT, env=lenv, stdout=fh, stderr=subprocess.STDOUT).returncode
    wall = time.time() - started
    sampler.stop_event.set()
    sampler.join()
    pg_all = {p.pid: p for p in pg + postgres_procs(db_port)}.values()
    g1, p1, sys1 = cpu_of(workers), cpu_of(pg_all), psutil.cpu_times()
    load1 = os.getloadavg()
    gunicorn.send_signal(signal.SIGTERM)
    try:
        gunicorn.wait(30)
    except subprocess.TimeoutExpired:
        gunicorn.kill()
    if not os.path.exists(out):
        raise SystemExit(f"locust wrote no report (exit {rc}); see {llog}")
    with open(out) as fh:
        report = json.load(fh)
    busy = lambda t: t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)  # noqa: E731
    ncpu = os.cpu_count() or 1
    report.update(cpu_timeline=sampler.rows, label=label, users=users, answers=answers or 40, rate_per_min=rate or users * 60 / window, window_s=window,
                  wall_s=wall,
                  exam_id=exam_id, locust_exit=rc, cpu={
                      "machine_busy_pct": 100 * (busy(sys1) - busy(sys0)) / (wall * ncpu),
                      "gunicorn_workers_cores": (g1 - g0) / wall,
                      "postgres_cores": (p1 - p0) / wall,
                      "gunicorn_cpu_s": g1 - g0, "postgres_cpu_s": p1 - p0,
                      "locust_cores": report["locust_cpu_s"] / report["locust_wall_s"],
                      "loadavg_before": load0, "loadavg_after": load1})
    report["verification"] = verify(exam_id, report, before, expected_items=40)
    del report["acked"]  # large; the verification has used it
    return report


# --- verification -----------------------------------------------------------------------------------

def verify(exam_id: int, report: dict, before: dict, expected_items: int) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from trainapp.auth.models import User
    from trainapp.exams import service
    from trainapp.exams.models import Attempt, AttemptItem
    from trainapp.extensions import db

    problems: list[str] = []
    flows = report["flows"]
    attempts = list(db.session.scalars(select(Attempt).where(Attempt.exam_id == exam_id).options(
        selectinload(Attempt.items).selectinload(AttemptItem.version))))
    by_id = {a.id: a for a in attempts}
    logins = dict(db.session.execute(select(User.id, User.username)).all())

    finished = [f for f in flows if f.get("error") is None]
    submitted = [f for f in flows if f.get("submitted")]
    if len(flows) != report["users"]:
        problems.append(f"{report['users'] - len(flows)} learner(s) did not finish before the time cap")
    for f in flows:
        if f.get("error"):
            problems.append(f"{f['login']}: stopped at {f['error']}")
    per_user = Counter(a.user_id for a in attempts)
    multi = {logins[u]: n for u, n in per_user.items() if n != 1}
    if multi:
        problems.append(f"learners with more than one attempt: {multi}")
    flow_attempts = {f["attempt"]: f["login"] for f in flows if f.get("attempt")}
    for aid, login in flow_attempts.items():
        a = by_id.get(aid)
        if a is None or logins[a.user_id] != login:
            problems.append(f"attempt {aid} of {login} missing or someone else's")
    if len(attempts) != len(flow_attempts):
        problems.append(f"{len(attempts)} attempts in the database, {len(flow_attempts)} started by learners")

    # Answers: the last acknowledged value per (attempt, position) is what is stored.
    last: dict[tuple[int, int], str] = {}
    for aid, position, response in report["acked"]:
        last[(aid, position)] = response
    lost, phantom = [], []
    for a in attempts:
        for item in a.items:
            stored = service.to_displayed(item, item.response or "")
            sent = last.get((a.id, item.position))
            if sent is None:
                if stored:
                    phantom.append((a.id, item.position, stored))
            elif stored != sent:
                lost.append((a.id, item.position, sent, stored))
    for key in last:
        if key[0] not in by_id:
            lost.append((*key, last[key], "<no attempt>"))
    if lost:
        problems.append(f"{len(lost)} acknowledged answer(s) not stored as sent, e.g. {lost[:3]}")
    if phantom:
        problems.append(f"{len(phantom)} stored answer(s) never acknowledged, e.g. {phantom[:3]}")

    # Grading: every attempt submitted once, scored, each item graded, bank counters bumped once.
    bad_state = [a.id for a in attempts if a.status != "submitted" or a.score is None or a.submitted_at is None
                 or a.auto_submitted or a.passed is None]
    if bad_state:
        problems.append(f"{len(bad_state)} attempt(s) not submitted and scored, e.g. {bad_state[:5]}")
    wrong_items = [a.id for a in attempts if len(a.items) != expected_items]
    if wrong_items:
        problems.append(f"{len(wrong_items)} attempt(s) without {expected_items} items")
    bad_sum = [a.id for a in attempts if a.score is not None and (any(i.score is None for i in a.items)
               or abs(round(sum(i.score for i in a.items), 2) - a.score) > 1e-6)]
    if bad_sum:
        problems.append(f"{len(bad_sum)} attempt(s) whose score is not the sum of graded items")
    want_answered: Counter = Counter()
    want_correct: Counter = Counter()
    for a in attempts:
        for item in a.items:
            qid = item.version.question_id
            want_answered[qid] += 1
            if item.score is not None and item.score >= item.points - 1e-9:
                want_correct[qid] += 1
    after = question_counters()
    d_answered = {q: after[q][0] - before.get(q, (0, 0))[0] for q in after}
    d_correct = {q: after[q][1] - before.get(q, (0, 0))[1] for q in after}
    off = [q for q in after if d_answered[q] != want_answered.get(q, 0) or d_correct[q] != want_correct.get(q, 0)]
    if off:
        problems.append(f"{len(off)} question(s) whose times_answered/times_correct grew by the wrong amount, "
                        f"e.g. {[(q, d_answered[q], want_answered.get(q, 0)) for q in off[:3]]}")
    total_delta = sum(d_answered.values())
    if total_delta != expected_items * len(attempts):
        problems.append(f"times_answered grew by {total_delta}, expected {expected_items} x {len(attempts)}")
    db.session.remove()
    return {
        "ok": not problems, "problems": problems, "learners": len(flows), "finished": len(finished),
        "submitted_by_learners": len(submitted), "attempts": len(attempts),
        "acked_answers": len(report["acked"]), "acked_positions": len(last), "lost": len(lost),
        "unacknowledged_stored": len(phantom), "times_answered_delta": total_delta,
        "expected_delta": expected_items * len(attempts),
    }


# --- reporting --------------------------------------------------------------------------------------

def endpoint_table(run: dict) -> str:
    lines = ["| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|---|"]
    for e in run["endpoints"] + [dict(run["total"], method="", name="all (incl. sign-in)")]:
        name = f"{e['name']}" if e["name"].startswith(("GET", "POST")) else e["name"]
        lines.append(f"| {name} | {e['count']} | {e['failures']} | {e['rps']:.1f} | {e['p50_ms']:.0f} | "
                     f"{e['p95_ms']:.0f} | {e['p99_ms']:.0f} | {e['max_ms']:.0f} |")
    return "\n".join(lines)


def ep(run: dict, name: str) -> dict | None:
    return next((e for e in run["endpoints"] if e["name"] == name), None)


def target_lines(run: dict) -> list[str]:
    out = []
    for name, limit in TARGETS.items():
        e = ep(run, name)
        p95 = e["p95_ms"] if e else float("nan")
        out.append(f"{name} p95 {p95:.0f} ms (target <= {limit:.0f}): {'met' if e and p95 <= limit else 'MISSED'}")
    fails = run["total"]["failures"]
    out.append(f"failures: {fails} (target 0): {'met' if fails == 0 else 'MISSED'}")
    v = run["verification"]
    out.append(f"lost answers: {v['lost']} (target 0); verification {'passed' if v['ok'] else 'FAILED'}")
    return out


def cpu_line(run: dict) -> str:
    c = run["cpu"]
    ours = c["gunicorn_workers_cores"] + c["postgres_cores"] + c["locust_cores"]
    others = c["machine_busy_pct"] * (os.cpu_count() or 1) / 100 - ours
    return (f"wall {run['wall_s']:.0f} s; machine busy {c['machine_busy_pct']:.0f}% of {os.cpu_count()} cores; "
            f"gunicorn workers {c['gunicorn_workers_cores']:.2f} cores, PostgreSQL {c['postgres_cores']:.2f} cores, "
            f"locust {c['locust_cores']:.2f} cores, everything else on the machine {max(0.0, others):.2f} cores; "
            f"load average {c['loadavg_before'][0]:.1f} -> {c['loadavg_after'][0]:.1f}; CPU per learner: gunicorn "
            f"{c['gunicorn_cpu_s'] / run['users']:.2f} s, PostgreSQL {c['postgres_cpu_s'] / run['users']:.2f} s; "
            f"gunicorn CPU per request {1000 * c['gunicorn_cpu_s'] / max(1, run['total']['count']):.1f} ms")


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        script = os.path.abspath(__file__)
        os.execv(sys.executable, [sys.executable, os.path.join(ROOT, "tests", "pg_cluster.py"), "--",
                                  sys.executable, script, *sys.argv[1:]])
    if not url.startswith("postgresql"):
        raise SystemExit("this benchmark needs PostgreSQL (TEST_DATABASE_URL / BENCH_DATABASE_URL)")
    db_port = None
    try:
        from sqlalchemy.engine import make_url

        db_port = make_url(url).port
    except Exception:  # noqa: BLE001
        pass
    workdir = tempfile.mkdtemp(prefix="trainapp-examload-")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-exam-load-secret", "FLASK_APP": "trainapp",
           "TRAINAPP_INSTANCE": os.path.join(workdir, "instance"), "RATELIMIT_STORAGE_URI": "memory://",
           "PYTHONPATH": ROOT}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "TRAINAPP_INSTANCE",
                                           "RATELIMIT_STORAGE_URI")})
    t_setup = time.perf_counter()
    for args in (("db", "upgrade"), ("demo", "seed"), ("questionbank", "load-shipped"), ("demo", "load")):
        flask_cmd(env, *args)
    series_users = [int(round(rate * SERIES_WINDOW / 60)) for rate in SERIES_RATES]
    accounts = max([MAIN_USERS if MAIN_RUNS else 0, *series_users, 1])

    from trainapp import create_app
    from trainapp.extensions import db

    app = create_app()
    ctx = app.app_context()
    ctx.push()
    logins = make_population(accounts)
    pg_version = db.session.execute(db.text("SHOW server_version")).scalar()
    db.session.remove()
    setup_s = time.perf_counter() - t_setup
    print(f"setup: migrations, reference data, demo data and {accounts} learner accounts in {setup_s:.0f} s "
          f"(PostgreSQL {pg_version}); gunicorn {GUNICORN_ARGS}; {os.cpu_count()} cores", flush=True)

    results = {"date": dt.date.today().isoformat(), "nproc": os.cpu_count(), "gunicorn": GUNICORN_ARGS,
               "postgres": pg_version, "window_s": WINDOW, "series_window_s": SERIES_WINDOW, "think": THINK,
               "change_p": CHANGE_P,
               "main": [], "series": []}
    for i in range(MAIN_RUNS):
        run = one_run(f"main{i + 1}", env, logins, MAIN_USERS, 0, WINDOW, workdir, db_port)
        results["main"].append(run)
        print(f"\n## Main run {i + 1}: {MAIN_USERS} learners within {WINDOW:.0f} s, 40 answers, think {THINK} s\n",
              flush=True)
        print(endpoint_table(run))
        print("\n" + "\n".join(target_lines(run)))
        print(cpu_line(run))
        print("\n" + timeline(run, workdir) + "\n")
        v = run["verification"]
        print(f"verification: {json.dumps({k: v[k] for k in v if k != 'problems'})}")
        for p in v["problems"]:
            print(f"  PROBLEM: {p}")
        sys.stdout.flush()
    if MAIN_RUNS > 1:
        print("\n### Medians over main runs\n")
        print("| endpoint | p50 ms | p95 ms | p99 ms | req/s |\n|---|---|---|---|---|")
        for e in results["main"][0]["endpoints"]:
            rows = [ep(r, e["name"]) for r in results["main"] if ep(r, e["name"])]
            med = lambda k: statistics.median(x[k] for x in rows)  # noqa: E731
            print(f"| {e['name']} | {med('p50_ms'):.0f} | {med('p95_ms'):.0f} | {med('p99_ms'):.0f} | "
                  f"{med('rps'):.1f} |")
    for rate, users in zip(SERIES_RATES, series_users):
        run = one_run(f"rate{rate}", env, logins, users, SERIES_ANSWERS, SERIES_WINDOW, workdir, db_port, rate)
        results["series"].append(run)
        v = run["verification"]
        print(f"\nseries {rate}/min ({users} learners, {SERIES_ANSWERS} answers): "
              + ", ".join(f"{n.split()[1]} p95 {ep(run, n)['p95_ms']:.0f}" for n in KNEE_ENDPOINTS if ep(run, n))
              + f"; failures {run['total']['failures']}; verification {'passed' if v['ok'] else 'FAILED'}; "
              + cpu_line(run), flush=True)
        for p in v["problems"]:
            print(f"  PROBLEM: {p}")
    if results["series"]:
        print(f"\n## Knee series ({SERIES_ANSWERS} answers per learner, think {THINK} s, learners spread over "
              f"{SERIES_WINDOW:.0f} s)\n")
        print("| learners/min | learners | start p95 | paper p95 | answer p95 | submit p95 | all p95 | "
              "failures | req/s | verification |\n|---|---|---|---|---|---|---|---|---|---|")
        knee = None
        for run in results["series"]:
            p95 = {n: (ep(run, n) or {}).get("p95_ms", float("nan")) for n in KNEE_ENDPOINTS}
            if knee is None and max(p95.values()) > KNEE_MS:
                knee = run["rate_per_min"]
            print(f"| {run['rate_per_min']:.0f} | {run['users']} | "
                  + " | ".join(f"{p95[n]:.0f}" for n in KNEE_ENDPOINTS)
                  + f" | {run['total']['p95_ms']:.0f} | {run['total']['failures']} | {run['total']['rps']:.1f} | "
                  f"{'passed' if run['verification']['ok'] else 'FAILED'} |")
        results["knee_per_min"] = knee
        print(f"\nknee (first rate with a p95 of start/paper/answer/submit over {KNEE_MS:.0f} ms): "
              + (f"{knee:.0f} learners/min" if knee else f"not reached up to {max(SERIES_RATES)} learners/min"))
    with open(RESULTS, "w") as fh:
        json.dump(results, fh, indent=1)
    print(f"\nresults: {RESULTS}; logs: {workdir}")
    db.engine.dispose()
    ctx.pop()
    bad = [r["label"] for r in results["main"] + results["series"] if not r["verification"]["ok"]]
    if bad:
        print(f"verification FAILED for: {', '.join(bad)}")
        sys.exit(1)
    shutil.rmtree(os.path.join(workdir, "instance"), ignore_errors=True)


if __name__ == "__main__":
    main()
