"""End-to-end import of a 10,000-question xlsx into an empty bank, as `flask questionbank import` does it.

Timed: parse() + find_bank + plan_import (dedupe) + new_bank + commit_import + audit record + commit.
Not timed: building the workbook (once, with formats.export(..., "xlsx")), starting Python, create_app,
and drop_all/create_all, which gives every run an empty database.

Every run happens in a fresh child process, so each one starts cold (first parse in the process, empty
SQLAlchemy caches) and its memory peak is its own. Memory is reported as:

* peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child at the end of the run (the whole
  process: interpreter, Flask app, calamine's native buffers, the database driver);
* baseline RSS: the same child's ru_maxrss just before the timed section, so "peak − baseline" is what
  the import itself added.
  Linux carries the parent's RSS at fork into a child's ru_maxrss across exec, so the driver process
  imports nothing from trainapp and builds the workbook in a child of its own (it stays at ~10 MB), and
  each child checks ru_maxrss against VmHWM from /proc/self/status, failing loudly if they disagree;
* Python heap peak: one extra, untimed child per database runs the import under tracemalloc (which slows
  it down, so it is never one of the timed runs). tracemalloc does not see calamine's native memory.

Runs on a temporary SQLite file, and also on PostgreSQL when TEST_DATABASE_URL (or BENCH_DATABASE_URL)
is set, e.g. through the throwaway cluster of tests/pg_cluster.py:

    .venv/bin/python benchmarks/bench_import_xlsx.py                     # SQLite only
    .venv/bin/python tests/pg_cluster.py -- .venv/bin/python benchmarks/bench_import_xlsx.py   # both

Environment: RUNS (default 5, at least 3), QUESTIONS (default 10000).
"""
from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = max(3, int(os.environ.get("RUNS", "5")))
QUESTIONS = int(os.environ.get("QUESTIONS", "10000"))
TARGET_S = 5.0
BANK = "基准测试题库"

# --- synthetic questions --------------------------------------------------------------------

_PLACES = ["危险化学品仓库", "粉尘涉爆车间", "有限空间作业点", "燃气调压站", "建筑施工现场", "涉氨制冷机房",
           "金属冶炼车间", "大型商场", "地下车库", "锅炉房", "喷涂车间", "配电室", "冷库", "液氯储罐区",
           "木材加工车间", "宾馆厨房", "医院氧气站", "物流分拣中心", "加油站", "隧道施工段"]
_ACTORS = ["主要负责人", "安全管理人员", "特种作业人员", "班组长", "新入职员工", "外包施工人员", "值班电工",
           "动火监护人", "仓库保管员", "叉车司机"]
_TASKS = ["动火作业", "进入受限空间", "高处作业", "临时用电", "吊装作业", "设备检修", "盲板抽堵",
          "交接班检查", "应急演练", "隐患排查", "危险物品装卸", "夜间巡检", "清理积尘", "更换阀门",
          "带压堵漏", "调试新设备", "开工前安全交底", "消防设施维护", "气体检测", "停送电操作"]
_ASKS = ["首先应当做的是", "必须遵守的规定是", "下列做法正确的是", "不符合要求的做法是", "应当立即采取的措施是",
         "法律规定的责任主体是", "需要办理的审批手续是", "应重点检查的内容是", "正确的报告程序是",
         "应佩戴的防护用品是", "发现异常时应当", "依法应当履行的义务是", "最容易引发事故的行为是",
         "应当优先落实的措施是", "作业结束后应当", "交接时必须确认的是", "可以暂缓执行的是",
         "应当保存的记录是", "不得由其他人代替的是", "现场监护人应当", "应急处置的第一步是",
         "应当向谁报告", "检测合格的标准是", "禁止的行为是", "应急物资应当"]
_OPTIONS = ["办理作业审批并落实监护", "进行气体检测并记录结果", "佩戴合格的个体防护用品", "切断能源并上锁挂牌",
            "口头通知班组长后直接作业", "先作业后补办手续", "组织全员安全教育培训", "按规定设置警示标志",
            "立即撤离并报告现场负责人", "使用不防爆的工具", "保持通风并持续监测", "由无证人员临时替岗",
            "配备应急救援器材", "在交接班记录中签字确认", "凭经验判断是否安全", "向应急管理部门报告"]
_SOURCES = ["《中华人民共和国安全生产法》", "《危险化学品安全管理条例》", "《工贸企业有限空间作业安全规定》",
            "《特种作业人员安全技术培训考核管理规定》", "《生产安全事故应急预案管理办法》",
            "《上海市安全生产条例》", "GB 30871《危险化学品企业特殊作业安全规范》"]
_TAGS = ["安全生产法", "特殊作业", "有限空间", "动火", "应急处置", "个体防护", "隐患排查", "危险化学品",
         "粉尘防爆", "用电安全", "消防", "责任制"]


def build_questions(n: int):
    """n distinct questions: a third each single, multiple and true/false, with realistic Chinese text."""
    from trainapp.questionbank.formats import ParsedQuestion

    questions = []
    for i in range(n):
        # Mixed radix over the phrase lists: every i gives a different (place, actor, task, ask).
        place, rest = _PLACES[i % 20], i // 20
        actor, rest = _ACTORS[rest % 10], rest // 10
        task, rest = _TASKS[rest % 20], rest // 20
        ask = _ASKS[rest % 25]
        kind = ("single", "multiple", "truefalse")[i % 3]
        source = _SOURCES[i % len(_SOURCES)]
        tags = [_TAGS[(i + k * 5) % len(_TAGS)] for k in range(1 + i % 3)]
        explanation = (f"依据{source}，{actor}在{place}{task}前应当确认安全条件，落实审批、检测、监护等措施；"
                       f"发现异常应立即停止作业并报告。")
        if kind == "truefalse":
            stem = f"在{place}，{actor}{task}时，只要经验丰富就可以不办理审批手续直接作业。（第 {i + 1} 题）" \
                if i % 2 else f"在{place}，{actor}{task}时，{ask}由本人负责确认的安全事项。"
            options, answer = [], "F" if i % 2 else "T"
        else:
            count = 4 if kind == "single" else 5
            options = [_OPTIONS[(i + k * 3) % len(_OPTIONS)] for k in range(count)]
            stem = f"在{place}，{actor}{task}时，{ask}（ ）。"
            answer = "B" if kind == "single" else "ACD"
        questions.append(ParsedQuestion(qtype=kind, stem=stem, options=options, answer=answer,
                                        explanation=explanation, source=source, difficulty=1 + i % 3, tags=tags))
    return questions


# --- one run, in a child process -------------------------------------------------------------

def _hwm_kb() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))


def build(path: str, n: int) -> None:
    from trainapp.questionbank.formats import export

    with open(path, "wb") as fh:
        fh.write(export(build_questions(n), "xlsx", {"name": BANK}))


def _rss_checked() -> int:
    """ru_maxrss in KB, after checking that it is this process's own peak (VmHWM)."""
    peak, hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _hwm_kb()
    if abs(peak - hwm) > max(0.05 * hwm, 2048):
        raise SystemExit(f"ru_maxrss {peak} KB and VmHWM {hwm} KB disagree: the parent's peak leaked in")
    return peak


def child(url: str, path: str, n: int, trace: bool) -> None:
    import tracemalloc

    from sqlalchemy import func, select

    from trainapp import create_app
    from trainapp.audit import record
    from trainapp.extensions import db
    from trainapp.questionbank import formats, service
    from trainapp.questionbank.models import Question

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        data = open(path, "rb").read()
        baseline = _rss_checked()
        if trace:
            tracemalloc.start()
        marks = [time.perf_counter()]
        result = formats.parse(data, os.path.basename(path))
        marks.append(time.perf_counter())
        bank = service.find_bank(BANK)
        plan = service.plan_import(result, bank)
        if plan.blocked(skip_unsupported=False):
            raise SystemExit(f"import refused: {result.problems[:5]}")
        marks.append(time.perf_counter())
        bank = bank or service.new_bank(BANK, None, result.bank)
        count = service.commit_import(plan, bank)
        record("import", bank, summary=f"{bank.name}: +{count}", file=os.path.basename(path), questions=count)
        marks.append(time.perf_counter())
        db.session.commit()
        marks.append(time.perf_counter())
        heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
        tracemalloc.stop()
        peak = _rss_checked()
        stored = db.session.scalar(select(func.count()).select_from(Question))
        server = ".".join(map(str, db.engine.dialect.server_version_info or ()))
        assert count == n == stored, (count, n, stored)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    phases = [b - a for a, b in zip(marks, marks[1:])]
    print(json.dumps({"total": marks[-1] - marks[0], "parse": phases[0], "plan": phases[1],
                      "insert": phases[2], "commit": phases[3], "peak_kb": peak, "baseline_kb": baseline,
                      "heap_peak": heap_peak, "server": server}))


def run_child(url: str, path: str, n: int, trace: bool = False) -> dict:
    args = [sys.executable, os.path.abspath(__file__), "--child", url, path, str(n)] + (["--trace"] if trace else [])
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"child failed ({url}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- driver ----------------------------------------------------------------------------------

def measure(label: str, url: str, path: str, n: int) -> dict:
    runs = [run_child(url, path, n) for _ in range(RUNS)]
    traced = run_child(url, path, n, trace=True)
    totals = [r["total"] for r in runs]
    med = statistics.median(totals)
    return {
        "label": f"{label} {runs[0]['server']}", "median": med, "min": min(totals), "max": max(totals), "rate": n / med,
        "runs": totals,
        "phases": {k: statistics.median(r[k] for r in runs) for k in ("parse", "plan", "insert", "commit")},
        "peak_mb": max(r["peak_kb"] for r in runs) / 1024,
        "added_mb": statistics.median(r["peak_kb"] - r["baseline_kb"] for r in runs) / 1024,
        "heap_mb": traced["heap_peak"] / 1024 / 1024,
    }


def main() -> None:
    pg_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bank.xlsx")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--build", path, str(QUESTIONS)], check=True,
                       cwd=ROOT)
        size_mb = os.path.getsize(path) / 1024 / 1024
        rows = [measure("SQLite", f"sqlite:///{tmp}/bench.sqlite3", path, QUESTIONS)]
        if pg_url:
            rows.append(measure("PostgreSQL", pg_url, path, QUESTIONS))
    print(f"\n{QUESTIONS:,} questions, xlsx {size_mb:.2f} MB; {RUNS} timed runs per database, each in a fresh "
          f"process; {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}); driver's own peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB\n")
    print("| database | median | min / max | questions/s | parse / plan / insert / commit (medians) "
          "| peak RSS (ru_maxrss) | RSS added by the import | Python heap peak (tracemalloc) | runs (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["phases"]
        print(f"| {r['label']} | {r['median']:.2f} s | {r['min']:.2f} / {r['max']:.2f} s | {r['rate']:,.0f} "
              f"| {p['parse']:.2f} / {p['plan']:.2f} / {p['insert']:.2f} / {p['commit']:.2f} s "
              f"| {r['peak_mb']:.0f} MB | {r['added_mb']:.0f} MB | {r['heap_mb']:.0f} MB | "
              + ", ".join(f"{t:.2f}" for t in r["runs"]) + " |")
    missed = [r["label"] for r in rows if r["median"] > TARGET_S]
    verdict = "met on every database" if not missed else "MISSED on " + ", ".join(missed)
    print(f"\ntarget ≤ {TARGET_S:.0f} s: {verdict}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), "--trace" in sys.argv[5:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--build":
        build(sys.argv[2], int(sys.argv[3]))
    else:
        main()
