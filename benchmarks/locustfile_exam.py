"""Locust scenario for bench_exam_load.py: each simulated learner takes one exam from sign-in to result.

Each user, once: GET /auth/login, POST /auth/login (sign-in; not part of the targets), GET the exam
page, POST start (302 to the attempt), GET the paper, then answers every question in paper order with
think time between answers, now and then changing an earlier answer, then POST submit (302) and GET the
result page the browser would be sent to. Requests are named by endpoint template, so the statistics
are per endpoint. When every user has finished, the run stops by itself.

Every acknowledged answer (HTTP 200 with {"ok": true}) is recorded as (attempt id, position, response in
the letters shown) and written, with the statistics, to BENCH_OUT as JSON when locust quits; the driver
compares them with the database.

Settings come from the environment (the driver sets them):
    BENCH_EXAM_ID      exam to take
    BENCH_LOGINS       comma-separated sign-in names; user i takes the i-th (as many as users)
    BENCH_PASSWORD     their password
    BENCH_ANSWERS      questions to answer (default: all on the paper)
    BENCH_THINK        "min,max" seconds of think time before each answer (default "2,5")
    BENCH_CHANGE_P     chance, after each answer, of changing one earlier answer (default 0.1)
    BENCH_OUT          where to write the JSON report
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import resource
import time

import gevent
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser

EXAM_ID = int(os.environ.get("BENCH_EXAM_ID", "0"))
LOGINS = [s for s in os.environ.get("BENCH_LOGINS", "").split(",") if s]
PASSWORD = os.environ.get("BENCH_PASSWORD", "")
ANSWERS = int(os.environ.get("BENCH_ANSWERS", "0"))  # 0: all
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK", "2,5").split(","))
CHANGE_P = float(os.environ.get("BENCH_CHANGE_P", "0.1"))
OUT = os.environ.get("BENCH_OUT", "exam_load_report.json")

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_DATA = re.compile(r'data-csrf="([^"]+)"')
SECTION = re.compile(r'<section class="exam-q[^"]*"[^>]*data-position="(\d+)" data-qtype="(\w+)"')
OPTION = re.compile(r'name="q(\d+)"\s+value="([A-Z])"')
ATTEMPT_URL = re.compile(r"/exams/attempts/(\d+)$")

_next_login = itertools.count()
acked: list[tuple[int, int, str]] = []  # (attempt id, position, displayed response), in order acknowledged
flows: list[dict] = []  # one per user: how far it got
_started_at = time.time()


def _choice(qtype: str, letters: list[str], rng: random.Random) -> str:
    if qtype == "multiple":
        return "".join(sorted(rng.sample(letters, rng.randint(1, len(letters)))))
    return rng.choice(letters)


class Learner(FastHttpUser):
    # One pass through the flow per user; the think time is inside the task.
    network_timeout = 120.0
    connection_timeout = 30.0
    # One connection per request, as behind a reverse proxy that does not keep connections to gunicorn
    # alive (nginx's default). Reusing idle keep-alive connections instead races gunicorn closing them
    # after --keep-alive seconds: a request sent on a connection the server has just closed fails with
    # "connection closed" (browsers retry those; geventhttpclient does not retry a POST).
    default_headers = {"Connection": "close"}

    def wait_time(self):
        return 0

    def _check(self, resp, expect_status: int, what: str) -> bool:
        if resp.status_code != expect_status:
            error = getattr(resp, "error", None)
            resp.failure(f"{what}: HTTP {resp.status_code}, expected {expect_status}"
                         + (f" ({type(error).__name__}: {error})" if error else ""))
            return False
        return True

    def _think(self) -> None:
        gevent.sleep(self.rng.uniform(*THINK))

    def _fail(self, flow: dict, why: str) -> None:
        flow["error"] = why
        self._finish(flow)

    def _finish(self, flow: dict) -> None:
        """Record the learner's outcome, then idle until the run quits.

        A user that stopped (StopUser) while locust is still spawning is replaced by a new one, which
        would take the exam a second time under the next sign-in name, so finished users stay.
        """
        flows.append(flow)
        _maybe_finish(self.environment)
        while True:
            gevent.sleep(3600)

    def on_start(self) -> None:
        self.rng = random.Random()

    @task
    def take_exam(self) -> None:  # noqa: C901 - one straight-line learner
        index = next(_next_login)
        login = LOGINS[index % len(LOGINS)]
        flow = {"login": login, "attempt": None, "acked": 0, "submitted": False, "error": None,
                "t0": time.time()}
        c = self.client

        # Sign in (not part of the targets: the accounts use a cheap password hash, see README).
        with c.get("/auth/login", name="GET /auth/login", catch_response=True) as r:
            ok = self._check(r, 200, "login page")
            m = CSRF_INPUT.search(r.text or "") if ok else None
            if ok and not m:
                r.failure("no csrf token on the sign-in page")
        if not m:
            self._fail(flow, "login page")
        with c.post("/auth/login", name="POST /auth/login", allow_redirects=False, catch_response=True,
                    data={"login": login, "password": PASSWORD, "csrf_token": m.group(1)}) as r:
            ok = self._check(r, 302, "sign-in")
        if not ok:
            self._fail(flow, "sign-in")

        # Exam page and start.
        with c.get(f"/exams/{EXAM_ID}", name="GET /exams/[id]", catch_response=True) as r:
            ok = self._check(r, 200, "exam page")
            # The start form's token; the page's sign-out form carries one too, so look after the start URL.
            text = r.text or ""
            m = CSRF_INPUT.search(text, text.find(f"/exams/{EXAM_ID}/start")) if ok else None
            if ok and (not m or f"/exams/{EXAM_ID}/start" not in text):
                r.failure("no start form on the exam page")
                m = None
        if not m:
            self._fail(flow, "exam page")
        self._think()
        with c.post(f"/exams/{EXAM_ID}/start", name="POST /exams/[id]/start", allow_redirects=False,
                    catch_response=True, data={"csrf_token": m.group(1)}) as r:
            ok = self._check(r, 302, "start")
            loc = (r.headers or {}).get("Location", "") if ok else ""
            am = ATTEMPT_URL.search(loc)
            if ok and not am:
                r.failure(f"start redirected to {loc!r}")
        if not am:
            self._fail(flow, "start")
        attempt_id = int(am.group(1))
        flow["attempt"] = attempt_id

        # The paper.
        with c.get(f"/exams/attempts/{attempt_id}", name="GET /exams/attempts/[id] (paper)",
                   catch_response=True) as r:
            ok = self._check(r, 200, "paper")
            html = (r.text or "") if ok else ""
            cm = CSRF_DATA.search(html)
            form_csrf = CSRF_INPUT.search(html)
            paper = [(int(p), t) for p, t in SECTION.findall(html)]
            options: dict[int, list[str]] = {}
            for p, letter in OPTION.findall(html):
                options.setdefault(int(p), []).append(letter)
            readable = bool(cm and form_csrf and paper and all(options.get(p) for p, _ in paper))
            if ok and not readable:
                r.failure("paper could not be read")
        if not readable:
            self._fail(flow, "paper")
        token = cm.group(1)
        headers = {"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"}
        url = f"/exams/attempts/{attempt_id}/answer"
        todo = paper[:ANSWERS] if ANSWERS else paper
        answered: list[tuple[int, str]] = []

        def save(position: int, qtype: str) -> None:
            response = _choice(qtype, options[position], self.rng)
            with c.post(url, name="POST /exams/attempts/[id]/answer", json={"position": position, "response": response},
                        headers=headers, catch_response=True) as r:
                if not self._check(r, 200, "answer"):
                    return
                try:
                    ok = r.json().get("ok") is True
                except ValueError:
                    ok = False
                if not ok:
                    r.failure("answer not acknowledged")
                    return
                acked.append((attempt_id, position, response))
                flow["acked"] += 1

        for position, qtype in todo:
            self._think()
            save(position, qtype)
            answered.append((position, qtype))
            if len(answered) > 1 and self.rng.random() < CHANGE_P:
                self._think()
                save(*self.rng.choice(answered[:-1]))  # went back and changed an earlier answer

        # Submit, then the result page the browser is sent to.
        self._think()
        with c.post(f"/exams/attempts/{attempt_id}/submit", name="POST /exams/attempts/[id]/submit",
                    allow_redirects=False, catch_response=True,
                    data={"csrf_token": form_csrf.group(1), "auto": "0"}) as r:
            if self._check(r, 302, "submit"):
                flow["submitted"] = True
        with c.get(f"/exams/attempts/{attempt_id}", name="GET /exams/attempts/[id] (result)",
                   catch_response=True) as r:
            self._check(r, 200, "result")
        flow["t1"] = time.time()
        self._finish(flow)


def _maybe_finish(environment) -> None:
    """Quit once every user of the run has finished its one pass."""
    target = getattr(environment.parsed_options, "num_users", None) if environment.parsed_options else None
    if target and len(flows) >= target and environment.runner is not None:
        gevent.spawn_later(0.5, environment.runner.quit)


def _entry(e) -> dict:
    return {
        "method": e.method, "name": e.name, "count": e.num_requests, "failures": e.num_failures,
        "rps": e.total_rps, "avg_ms": e.avg_response_time, "min_ms": e.min_response_time,
        "max_ms": e.max_response_time,
        "p50_ms": e.get_response_time_percentile(0.50), "p95_ms": e.get_response_time_percentile(0.95),
        "p99_ms": e.get_response_time_percentile(0.99),
        "first": e.start_time, "last": e.last_request_timestamp,
    }


@events.quitting.add_listener
def _write_report(environment, **_kw) -> None:
    stats = environment.stats
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "endpoints": [_entry(e) for e in sorted(stats.entries.values(), key=lambda e: e.name)],
        "total": _entry(stats.total),
        "errors": [{"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
                   for e in stats.errors.values()],
        "acked": acked,
        "flows": flows,
        "locust_cpu_s": usage.ru_utime + usage.ru_stime,
        "locust_wall_s": time.time() - _started_at,
    }
    with open(OUT, "w") as fh:
        json.dump(report, fh)
