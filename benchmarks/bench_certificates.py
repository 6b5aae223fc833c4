"""Certificate PDFs: warm single render, 1,000 certificates into one PDF (none stored / all stored),
serving a stored PDF, memory over many renders.

    nice -n 10 .venv/bin/python benchmarks/bench_certificates.py

Runs on a temporary SQLite database with synthetic certificates (holder names include rare
characters such as 𠮷 and 䶮 now and then, which pull in the Noto CJK fallback font).

1. warm render: median of RUNS renders of one certificate after 3 warm-up renders (fonts loaded);
2. batch, none stored: BATCH certificates into one PDF through the batch job (rendered in chunks of
   batch.CHUNK pages, in worker processes as configured, then merged), with the default number of
   worker processes: first as the first batch of the process (it starts the workers' fork server),
   then again with the fork server running (as it is once the certificate list has been opened),
   and again rendering in this process (set COLD_INPROCESS=0 to skip that run);
3. one by one: each certificate rendered alone and stored, as a download does (and as the batch did
   before it rendered in chunks);
4. batch, all stored: the same BATCH certificates merged from their stored PDFs;
5. serve: GET /certificates/<id>.pdf of a stored PDF through the Flask test client (routing, sign-in
   check, scope check, send_file), median of 200 requests;
6. memory: RSS every 500 renders over RENDERS renders in one process.

Environment: RUNS (default 30), BATCH (1000), RENDERS (5000), COLD_INPROCESS (1).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import resource
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = int(os.environ.get("RUNS", "30"))
BATCH = int(os.environ.get("BATCH", "1000"))
RENDERS = int(os.environ.get("RENDERS", "5000"))
COLD_INPROCESS = os.environ.get("COLD_INPROCESS", "1") != "0"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平",
         "堃", "喆", "𠮷", "䶮"]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load_note() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f})"


def main() -> None:
    from sqlalchemy import insert, select, update

    from trainapp import create_app
    from trainapp.auth.models import RoleGrant, User
    from trainapp.certificates import batch, pdf, service
    from trainapp.certificates.models import BatchJob, Certificate
    from trainapp.extensions import db

    tmp = tempfile.mkdtemp(prefix="bench-cert-")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                      "RATELIMIT_ENABLED": False})
    print(f"cores: {os.cpu_count()}; {load_note()} at start")
    with app.app_context():
        db.create_all()
        tpl = service.ensure_default_template()
        owner = User(username="bench", display_name="bench")
        owner.set_password("Bench@2026x")
        owner.grants = [RoleGrant(role="admin")]
        db.session.add(owner)
        db.session.flush()
        rows = []
        for i in range(BATCH):
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
            rows.append(dict(number=f"SH-BENCH-2026-{i + 1:06d}", code=service.new_code(), template_id=tpl.id,
                             user_id=owner.id, holder_name=name, id_masked="310101********1234",
                             unit_name=f"上海示范{i % 50}号机械有限公司", audience="主要负责人",
                             exam_title="工贸企业重大事故隐患判定标准考试", subject_name="工贸企业重大事故隐患判定标准",
                             score=80 + i % 20, max_score=100, issued_on=dt.date(2026, 11, 23),
                             valid_until=dt.date(2027, 11, 22), issuing_body="示范区应急管理局", status="valid"))
        db.session.execute(insert(Certificate), rows)
        db.session.commit()
        ids = list(db.session.scalars(select(Certificate.id).order_by(Certificate.id)))
        owner_id = owner.id

        with app.test_request_context():
            cert = db.session.get(Certificate, ids[0])
            for _ in range(3):
                pdf.render(cert)
            times, cpu = [], []
            for _ in range(RUNS):
                t0, c0 = time.perf_counter(), time.process_time()
                pdf.render(cert)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
        print(f"| warm render, one certificate | {statistics.median(times):.0f} ms median | min "
              f"{min(times):.0f} ms, max {max(times):.0f} ms, {RUNS} runs; CPU {statistics.median(cpu):.0f} ms "
              f"median | {load_note()} |")

        def batch_run(label: str) -> tuple[BatchJob, float]:
            job = batch.create(owner_id, ids, "pdf")
            t0, c0 = time.perf_counter(), time.process_time()
            batch.run(job.id)
            elapsed, cpu_parent = time.perf_counter() - t0, time.process_time() - c0
            db.session.expire_all()
            done = db.session.get(BatchJob, job.id)
            assert done.status == "done", done.error
            print(f"| {label} | {elapsed:.1f} s | {elapsed / BATCH * 1000:.0f} ms per certificate; "
                  f"{len(done.result) / 1e6:.1f} MB PDF; CPU of this process {cpu_parent:.1f} s | {load_note()} |")
            return done, elapsed

        processes = batch._processes((BATCH + batch.CHUNK - 1) // batch.CHUNK)
        workers = f"{processes} worker process{'es' if processes != 1 else ''}"
        _job, _first = batch_run(f"batch of {BATCH} into one PDF, none stored ({batch.CHUNK} per document, "
                                f"{workers}; the first batch, which starts the fork server)")
        _job, cold = batch_run(f"batch of {BATCH} into one PDF, none stored ({batch.CHUNK} per document, "
                               f"{workers}; fork server running, as once the certificate list has started it)")
        if COLD_INPROCESS:
            app.config["CERTIFICATE_BATCH_PROCESSES"] = 0
            batch_run(f"batch of {BATCH} into one PDF, none stored, rendered in this process")
            app.config.pop("CERTIFICATE_BATCH_PROCESSES")

        with app.test_request_context():
            db.session.expire_all()
            t0 = time.perf_counter()
            for cert_id in ids:
                pdf.stored_pdf(db.session.get(Certificate, cert_id))
            one_by_one = time.perf_counter() - t0
        print(f"| {BATCH} certificates rendered one by one and stored | {one_by_one:.1f} s | "
              f"{one_by_one / BATCH * 1000:.0f} ms per certificate | {load_note()} |")
        _job, merge = batch_run(f"batch of {BATCH} into one PDF, all stored (merge only)")
        print(f"| the previous way for none stored (one by one, stored, merged) | {one_by_one + merge:.1f} s | "
              f"batch now {cold:.1f} s: {cold / (one_by_one + merge):.2f} of it |")

        client = app.test_client()
        page = client.get("/auth/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        client.post("/auth/login", data={"login": "bench", "password": "Bench@2026x", "csrf_token": token})
        url = f"/certificates/{ids[1]}.pdf"
        assert client.get(url).status_code == 200
        serve = []
        for _ in range(200):
            t0 = time.perf_counter()
            resp = client.get(url)
            serve.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200
        print(f"| serve a stored PDF (GET, signed in) | {statistics.median(serve):.1f} ms median | "
              f"p95 {sorted(serve)[189]:.1f} ms |")

        db.session.execute(update(Certificate).values(pdf=None))
        db.session.commit()
        with app.test_request_context():
            certs = [db.session.get(Certificate, i) for i in ids[:50]]
            samples = []
            start = rss_mb()
            for n in range(1, RENDERS + 1):
                pdf.render(certs[n % len(certs)])
                if n % 500 == 0:
                    samples.append(f"{n}: {rss_mb():.0f}")
            print(f"| memory over {RENDERS} renders (RSS MB) | start {start:.0f} | {'; '.join(samples)} |")
    print(f"cores: {os.cpu_count()}  maxrss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"{load_note()} at the end")


if __name__ == "__main__":
    main()
