"""What the web pages and the CLI share: who may do what with a bank, import, export, shipped banks."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from trainapp.extensions import db
from trainapp.org.models import Sector
from trainapp.questionbank import formats
from trainapp.questionbank.formats import ParsedQuestion, ParseResult
from trainapp.questionbank.models import Question, QuestionBank, join_tags, stem_hash, update_question
from trainapp.questionbank.subjects import SUBJECTS

VIEW_ROLES = ("admin", "trainer", "manager", "regulator")
AUTHOR_ROLES = ("admin", "trainer")
INSERT_CHUNK = 2000


# --- access -----------------------------------------------------------------

def may_edit(user, bank: QuestionBank) -> bool:
    """Admins edit every bank; a trainer edits the banks they own. Shipped banks: admins only."""
    if user.has_role("admin"):
        return True
    return user.has_role("trainer") and bank.owner_id is not None and bank.owner_id == user.id


def editable_banks(user):
    """Statement for the banks `user` may import into, by name."""
    stmt = select(QuestionBank).where(QuestionBank.status == "active").order_by(QuestionBank.name)
    if user.has_role("admin"):
        return stmt
    if user.has_role("trainer"):
        return stmt.where(QuestionBank.owner_id == user.id)
    return stmt.where(QuestionBank.id.is_(None))


# --- import -----------------------------------------------------------------

@dataclass
class PlannedQuestion:
    question: ParsedQuestion
    duplicate: bool  # same normalised stem already in the bank, or earlier in this file


@dataclass
class ImportPlan:
    result: ParseResult
    items: list[PlannedQuestion] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(1 for i in self.items if i.duplicate)

    @property
    def new(self) -> int:
        return len(self.items) - self.duplicates

    def blocked(self, skip_unsupported: bool) -> bool:
        """Errors always block; questions of unsupported types block unless the trainer skips them."""
        return bool(self.result.errors) or (bool(self.result.unsupported) and not skip_unsupported)


def plan_import(result: ParseResult, bank: QuestionBank | None) -> ImportPlan:
    """Mark each parsed question new or duplicate against the bank (and the file itself)."""
    seen: set[str] = set()
    if bank is not None and bank.id is not None:
        seen.update(db.session.scalars(select(Question.stem_hash).where(Question.bank_id == bank.id)))
    plan = ImportPlan(result)
    for q in result.questions:
        digest = stem_hash(q.stem)
        plan.items.append(PlannedQuestion(q, digest in seen))
        seen.add(digest)
    return plan


def _row(bank_id: int, q: ParsedQuestion) -> dict:
    return {
        "bank_id": bank_id, "qtype": q.qtype, "stem": q.stem, "stem_hash": stem_hash(q.stem),
        "options": list(q.options), "answer": q.answer, "explanation": q.explanation, "source": q.source,
        "difficulty": q.difficulty, "tags": join_tags(q.tags), "status": "active", "version": 1,
        "times_answered": 0, "times_correct": 0,
    }


def commit_import(plan: ImportPlan, bank: QuestionBank, *, include_duplicates: bool = False) -> int:
    """Insert the plan's questions into the bank (the caller commits); returns how many."""
    db.session.flush()
    rows = [_row(bank.id, item.question) for item in plan.items if include_duplicates or not item.duplicate]
    for start in range(0, len(rows), INSERT_CHUNK):
        db.session.execute(insert(Question), rows[start:start + INSERT_CHUNK])
    if rows:
        db.session.execute(update(QuestionBank).where(QuestionBank.id == bank.id)
                           .values(updated_at=func.now()))
    return len(rows)


def new_bank(name: str, owner_id: int | None, meta: dict | None = None) -> QuestionBank:
    """A bank named `name`, described by a file's bank metadata when it has some."""
    meta = meta or {}
    subject = meta.get("subject") if meta.get("subject") in SUBJECTS else "other"
    bank = QuestionBank(name=name.strip()[:200], owner_id=owner_id, subject=subject,
                        description=(meta.get("description") or "").strip(),
                        audiences=_known_audiences(meta.get("audiences")))
    bank.sectors = _sectors(meta.get("sectors"))
    db.session.add(bank)
    db.session.flush()
    return bank


def _known_audiences(codes) -> list[str]:
    from trainapp.org.models import AUDIENCES

    return [c for c in (codes or []) if c in AUDIENCES]


def _sectors(codes) -> list[Sector]:
    if not codes:
        return []
    return list(db.session.scalars(select(Sector).where(Sector.code.in_(list(codes))).order_by(Sector.id)))


def name_from_filename(filename: str) -> str:
    """"消防题库v1.2.xlsx" -> "消防题库v1.2"; "quiz.gift.txt" -> "quiz"."""
    name = filename.rsplit("/", 1)[-1]
    for suffix in (".gift.txt", ".aiken.txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name.rsplit(".", 1)[0] if "." in name else name


def find_bank(name: str) -> QuestionBank | None:
    return db.session.scalar(select(QuestionBank).where(QuestionBank.name == name.strip()))


# --- export -----------------------------------------------------------------

def to_parsed(q: Question) -> ParsedQuestion:
    return ParsedQuestion(qtype=q.qtype, stem=q.stem, options=list(q.options or []), answer=q.answer,
                          explanation=q.explanation or "", source=q.source or "", difficulty=q.difficulty,
                          tags=q.tag_list, ref=str(q.id))


def bank_meta(bank: QuestionBank) -> dict:
    return {"name": bank.name, "subject": bank.subject, "description": bank.description or "",
            "sectors": bank.sector_codes(), "audiences": list(bank.audiences or [])}


def export_bank(bank: QuestionBank, fmt: str, *, include_retired: bool = False) -> bytes:
    """The bank's questions (active ones unless asked) in one of formats.EXPORT_FORMATS."""
    stmt = select(Question).where(Question.bank_id == bank.id).order_by(Question.id)
    if not include_retired:
        stmt = stmt.where(Question.status == "active")
    questions = [to_parsed(q) for q in db.session.scalars(stmt)]
    return formats.export(questions, fmt, bank_meta(bank))


# --- shipped banks ------------------------------------------------------------

class ShippedBankError(Exception):
    """A shipped bank file does not load; the message names the file and the problems."""


@dataclass
class ShippedSummary:
    banks_created: int = 0
    added: int = 0
    updated: int = 0
    retired: int = 0
    unchanged: int = 0


def load_shipped(directory: Path) -> ShippedSummary:
    """Bring the database in line with question_banks/*.json; running it twice changes nothing.

    New questions are added, changed ones updated (a new version when an attempt used the old
    one), questions no longer in a file retired. The caller commits.
    """
    summary = ShippedSummary()
    for path in sorted(Path(directory).glob("*.json")):
        result = formats.parse(path.read_bytes(), path.name, "json")
        if not result.ok or result.warnings:
            details = "; ".join(f"{p.ref}: {p.message}" for p in result.problems[:5])
            raise ShippedBankError(f"{path.name}: {details}")
        meta = result.bank or {}
        key = path.stem
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.shipped_key == key))
        if bank is None:
            if find_bank(meta["name"]) is not None:
                raise ShippedBankError(_("%(file)s：已有同名题库“%(name)s”，请先改名", file=path.name, name=meta["name"]))
            bank = new_bank(meta["name"], None, meta)
            bank.shipped_key = key
            summary.banks_created += 1
        else:
            clash = find_bank(meta["name"])
            if clash is not None and clash.id != bank.id:
                raise ShippedBankError(_("%(file)s：已有同名题库“%(name)s”，请先改名", file=path.name, name=meta["name"]))
            bank.name, bank.description = meta["name"], meta.get("description", "")
            bank.subject = meta.get("subject") if meta.get("subject") in SUBJECTS else "other"
            bank.audiences = _known_audiences(meta.get("audiences"))
            bank.sectors = _sectors(meta.get("sectors"))
        _sync_questions(bank, result.questions, summary)
    db.session.flush()
    return summary


def _sync_questions(bank: QuestionBank, parsed: list[ParsedQuestion], summary: ShippedSummary) -> None:
    existing = {q.stem_hash: q for q in db.session.scalars(select(Question).where(Question.bank_id == bank.id))}
    fresh = []
    wanted = set()
    for q in parsed:
        digest = stem_hash(q.stem)
        wanted.add(digest)
        current = existing.get(digest)
        if current is None:
            fresh.append(_row(bank.id, q))
            continue
        changes = {"qtype": q.qtype, "stem": q.stem, "options": list(q.options), "answer": q.answer,
                   "explanation": q.explanation, "source": q.source, "difficulty": q.difficulty,
                   "tags": join_tags(q.tags), "status": "active"}
        if any(getattr(current, k) != v for k, v in changes.items()):
            update_question(current, **changes)
            summary.updated += 1
        else:
            summary.unchanged += 1
    for digest, q in existing.items():
        if digest not in wanted and q.status == "active":
            q.status = "retired"
            summary.retired += 1
    if fresh:
        db.session.execute(insert(Question), fresh)
        summary.added += len(fresh)


def shipped_directory() -> Path:
    from trainapp import ROOT

    return Path(ROOT) / "question_banks"


def dump_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
