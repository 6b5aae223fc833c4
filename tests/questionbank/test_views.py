"""The question-bank pages: upload → preview → confirm, browsing, editing, retiring, access."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from, post_form
from trainapp.auth.models import RoleGrant
from trainapp.questionbank import formats
from trainapp.questionbank.models import Question, QuestionBank, QuestionVersion, freeze

GOOD_CSV = (
    "题型,题干,选项A,选项B,选项C,选项D,答案,解析,难度,标签,出处\n"
    "单选,动火作业前应当首先做什么？,办理动火审批,直接作业,通知家属,购买保险,A,先审批后动火,1,动火,企业制度\n"
    "多选,哪些属于个人防护用品？,安全帽,防护眼镜,雨伞,绝缘手套,ABD,雨伞不是,2,PPE,通用知识\n"
    "判断,发现隐患应当立即报告。,,,,,对,从业人员有报告义务,1,隐患,安全生产法\n"
).encode("utf-8")


def _upload(client, data: bytes, filename: str, bank_id: int = 0, name: str = "", fmt: str = "auto", **kw):
    page = client.get("/banks/import")
    return client.post("/banks/import", data={
        "csrf_token": csrf_from(page.text), "file": (io.BytesIO(data), filename), "fmt": fmt,
        "bank_id": str(bank_id), "new_bank_name": name}, content_type="multipart/form-data", **kw)


def _confirm(client, preview_url: str, **fields):
    page = client.get(preview_url)
    token = preview_url.rsplit("/", 1)[1]
    return client.post(f"/banks/import/{token}", data={"csrf_token": csrf_from(page.text), **fields})


def _bank(name: str, owner=None, n: int = 0) -> QuestionBank:
    from trainapp.extensions import db
    from trainapp.questionbank import service

    bank = service.new_bank(name, owner.id if owner else None)
    for i in range(n):
        db.session.add(Question(bank_id=bank.id, qtype="truefalse", stem=f"判断题{i}", stem_hash=f"h{i}", options=[],
                                answer="T", explanation="", source="", tags=",t,", status="active", version=1,
                                times_answered=0, times_correct=0))
    db.session.commit()
    return bank


def test_upload_preview_confirm_creates_bank(client, world, login, db):
    login("trainer")
    resp = _upload(client, GOOD_CSV, "bank.csv", name="动火作业题库")
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200
    assert "读取 3 题" in page.text and "动火作业前应当首先做什么" in page.text
    assert db.session.scalar(select(func.count(Question.id))) == 0, "nothing is written before confirming"
    done = _confirm(client, preview_url)
    assert done.status_code == 302
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.name == "动火作业题库"))
    assert bank.owner_id == world.users["trainer"].id
    questions = db.session.scalars(select(Question).where(Question.bank_id == bank.id).order_by(Question.id)).all()
    assert [(q.qtype, q.answer) for q in questions] == [("single", "A"), ("multiple", "ABD"), ("truefalse", "T")]
    assert questions[1].tag_list == ["PPE"]
    shown = client.get(f"/banks/{bank.id}")
    assert "哪些属于个人防护用品" in shown.text and "在用 3 题" in shown.text


def test_reimport_flags_duplicates_and_skips_them(client, world, login, db):
    login("trainer")
    first = _upload(client, GOOD_CSV, "bank.csv", name="重复测试")
    _confirm(client, first.headers["Location"])
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.name == "重复测试"))
    # Spacing and full/half-width punctuation do not make a question new.
    respaced = GOOD_CSV.replace("动火作业前应当首先做什么？".encode(), "动火作业前 应当首先做什么?".encode())
    again = _upload(client, respaced, "again.csv", bank_id=bank.id)
    page = client.get(again.headers["Location"])
    assert page.text.count("duplicate-flag") == 3 and "重复 3" in page.text
    _confirm(client, again.headers["Location"])
    assert db.session.scalar(select(func.count(Question.id)).where(Question.bank_id == bank.id)) == 3
    third = _upload(client, GOOD_CSV, "again.csv", bank_id=bank.id)
    _confirm(client, third.headers["Location"], include_duplicates="y")
    assert db.session.scalar(select(func.count(Question.id)).where(Question.bank_id == bank.id)) == 6


def test_errors_are_listed_by_row_and_nothing_is_imported(client, world, login, db):
    login("trainer")
    bad = GOOD_CSV + "单选,有两个答案的单选题,甲,乙,,,AB,,,,\n判断,带选项的判断题,动火,登高,,,对,,,,\n".encode()
    resp = _upload(client, bad, "bad.csv", name="坏文件")
    page = client.get(resp.headers["Location"])
    assert "第 5 行" in page.text and "单选题只能有一个答案" in page.text
    assert "第 6 行" in page.text and "判断题不应有选项" in page.text
    assert 'id="confirm-form"' not in page.text
    token = resp.headers["Location"].rsplit("/", 1)[1]
    forced = client.post(f"/banks/import/{token}", data={"csrf_token": csrf_from(page.text)})
    assert forced.status_code == 302
    assert db.session.scalar(select(func.count(Question.id))) == 0
    assert db.session.scalar(select(func.count(QuestionBank.id))) == 0


def test_unsupported_types_block_unless_skipped(client, world, login, db):
    login("trainer")
    gift = ("::q1:: 安全帽属于个人防护用品。 {T}\n\n"
            "::q2:: 请简述动火作业的审批流程。 {}\n\n"
            "::q3:: 灭火器压力表指针应在哪个区域？ {=绿区 ~红区 ~黄区}\n").encode()
    resp = _upload(client, gift, "quiz.gift.txt", name="GIFT 导入")
    page = client.get(resp.headers["Location"])
    assert "不支持的题型 1" in page.text and 'id="confirm-form"' in page.text
    blocked = _confirm(client, resp.headers["Location"])
    assert blocked.status_code == 302 and db.session.scalar(select(func.count(Question.id))) == 0
    _confirm(client, resp.headers["Location"], skip_unsupported="y")
    assert db.session.scalar(select(func.count(Question.id))) == 2


def test_script_in_stem_is_stored_as_text_and_escaped(client, world, login, db):
    login("trainer")
    csv = ("题型,题干,选项A,选项B,答案\n"
           "单选,<script>alert(1)</script>哪个正确？,<b>甲</b>,乙,A\n").encode()
    resp = _upload(client, csv, "x.csv", name="转义测试")
    page = client.get(resp.headers["Location"])
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    _confirm(client, resp.headers["Location"])
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.name == "转义测试"))
    shown = client.get(f"/banks/{bank.id}")
    assert "<script>alert(1)</script>" not in shown.text and "&lt;b&gt;甲&lt;/b&gt;" in shown.text


def test_upload_form_errors_by_field_and_json_for_progress_uploads(client, world, login, db):
    login("trainer")
    page = client.get("/banks/import")
    resp = client.post("/banks/import", data={"csrf_token": csrf_from(page.text), "bank_id": "0", "fmt": "auto"},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and "is-invalid" in resp.text
    as_json = client.post("/banks/import", data={"csrf_token": csrf_from(page.text), "bank_id": "0", "fmt": "auto"},
                          content_type="multipart/form-data", headers={"X-Requested-With": "XMLHttpRequest"})
    assert as_json.status_code == 422 and as_json.get_json()["errors"]
    ok = _upload(client, GOOD_CSV, "b.csv", headers={"X-Requested-With": "XMLHttpRequest"})
    assert ok.status_code == 200 and ok.get_json()["next"].startswith("/banks/import/")


def test_junk_and_empty_files_get_a_clear_message(client, world, login, db):
    login("trainer")
    for data, name, expected in ((b"", "empty.csv", "文件是空的"),
                                 (b"PK\x03\x04" + b"\x00" * 200, "bank.xlsx", "")):
        resp = _upload(client, data, name)
        if resp.status_code == 200:  # an empty upload is refused by the form itself
            assert "is-invalid" in resp.text
            continue
        page = client.get(resp.headers["Location"])
        assert page.status_code == 200 and "problem-error" in page.text
        if expected:
            assert expected in page.text


def test_preview_is_private_to_the_uploader(client, world, login, db):
    login("trainer")
    resp = _upload(client, GOOD_CSV, "b.csv", name="私有预览")
    preview_url = resp.headers["Location"]
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    other = factories.user("trainer2", RoleGrant(role="trainer"))
    db.session.commit()
    assert other.id
    login("trainer2")
    page = client.get(preview_url)
    assert page.status_code == 302 and "/banks/import" in page.headers["Location"]


def test_access_rules(client, world, login, db):
    owned = _bank("讲师的题库", world.users["trainer"], n=2)
    shipped = _bank("内置题库", None, n=2)
    login("entadmin_a1")
    assert client.get("/banks/").status_code == 403
    assert client.get(f"/banks/{owned.id}").status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("manager_a")
    assert client.get(f"/banks/{owned.id}").status_code == 200
    assert client.get(f"/banks/{owned.id}/edit").status_code == 403
    assert client.get("/banks/import").status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("trainer")
    assert client.get(f"/banks/{owned.id}/edit").status_code == 200
    assert client.get(f"/banks/{shipped.id}/edit").status_code == 403
    q = db.session.scalar(select(Question).where(Question.bank_id == shipped.id))
    assert client.get(f"/banks/questions/{q.id}/edit").status_code == 403
    resp = post_form(client, f"/banks/questions/{q.id}/status", {})
    assert resp.status_code == 403
    assert client.get("/banks/999999").status_code == 404
    page = client.get("/banks/import")
    assert "讲师的题库" in page.text and "内置题库" not in page.text


def test_edit_used_question_makes_new_version(client, world, login, db):
    bank = _bank("版本测试", world.users["trainer"])
    q = Question(bank_id=bank.id, qtype="single", stem="原题干", stem_hash="x", options=["甲", "乙"], answer="A",
                 explanation="", source="", tags="", status="active", version=1, times_answered=0, times_correct=0)
    db.session.add(q)
    db.session.commit()
    frozen_id = freeze(q).id
    db.session.commit()
    login("trainer")
    url = f"/banks/questions/{q.id}/edit"
    page = client.get(url)
    assert "原题干" in page.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "qtype": "single", "stem": "新题干",
                                  "option_a": "甲", "option_b": "乙", "option_c": "丙", "answer": "C",
                                  "difficulty": "2", "tags": "动火 审批"}, follow_redirects=True)
    assert "第 2 版" in resp.text
    db.session.expire_all()
    q = db.session.get(Question, q.id)
    assert (q.stem, q.options, q.answer, q.version, q.tag_list) == ("新题干", ["甲", "乙", "丙"], "C", 2, ["动火", "审批"])
    old = db.session.get(QuestionVersion, frozen_id)
    assert (old.stem, old.options, old.answer) == ("原题干", ["甲", "乙"], "A")


def test_edit_form_rejects_bad_answers_by_field(client, world, login, db):
    bank = _bank("校验测试", world.users["trainer"])
    login("trainer")
    url = f"/banks/{bank.id}/questions/new"
    page = client.get(url)
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "qtype": "single", "stem": "题干",
                                  "option_a": "甲", "option_b": "乙", "answer": "E", "difficulty": "0"})
    assert resp.status_code == 200 and "答案 E 没有对应的选项" in resp.text
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "qtype": "truefalse", "stem": "判断",
                                  "option_a": "甲", "answer": "对", "difficulty": "0"})
    assert "判断题不应有选项" in resp.text
    assert db.session.scalar(select(func.count(Question.id))) == 0
    resp = client.post(url, data={"csrf_token": csrf_from(page.text), "qtype": "truefalse", "stem": "判断",
                                  "answer": "√", "difficulty": "1"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Question.answer)) == "T"


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def test_question_image_checked_by_content(client, world, login, db):
    bank = _bank("图片测试", world.users["trainer"])
    login("trainer")
    url = f"/banks/{bank.id}/questions/new"
    page = client.get(url)
    base = {"csrf_token": csrf_from(page.text), "qtype": "truefalse", "stem": "这个标志表示禁止烟火。",
            "answer": "对", "difficulty": "0"}
    fake = client.post(url, data={**base, "image": (io.BytesIO(b"<svg onload=alert(1)>"), "sign.png")},
                       content_type="multipart/form-data")
    assert fake.status_code == 200 and "不是可识别的图片" in fake.text
    good = client.post(url, data={**base, "image": (io.BytesIO(_png()), "sign.png")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    q = db.session.scalar(select(Question))
    img = client.get(f"/banks/questions/{q.id}/image")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data.startswith(b"\x89PNG")


def test_retire_and_restore_and_filters(client, world, login, db):
    bank = _bank("筛选测试", world.users["trainer"], n=3)
    login("trainer")
    q = db.session.scalar(select(Question).where(Question.stem == "判断题1"))
    post_form(client, f"/banks/questions/{q.id}/status", {}, page_url=f"/banks/{bank.id}")
    db.session.expire_all()
    assert db.session.get(Question, q.id).status == "retired"
    active = client.get(f"/banks/{bank.id}")
    assert "判断题0" in active.text and "判断题1" not in active.text
    retired = client.get(f"/banks/{bank.id}?status=retired")
    assert "判断题1" in retired.text and "判断题0" not in retired.text
    search = client.get(f"/banks/{bank.id}?q=判断题2")
    assert "判断题2" in search.text and "判断题0" not in search.text
    assert "判断题0" in client.get(f"/banks/{bank.id}?tag=t").text
    assert "判断题0" not in client.get(f"/banks/{bank.id}?tag=x").text
    post_form(client, f"/banks/questions/{q.id}/status", {}, page_url=f"/banks/{bank.id}")
    db.session.expire_all()
    assert db.session.get(Question, q.id).status == "active"


@pytest.mark.parametrize("fmt", formats.EXPORT_FORMATS)
def test_export_downloads_parse_back(client, world, login, db, fmt):
    bank = _bank("导出测试", world.users["trainer"])
    db.session.add(Question(bank_id=bank.id, qtype="multiple", stem="哪些是特种作业？", stem_hash="m",
                            options=["电工作业", "焊接与热切割作业", "办公室文员"], answer="AB", explanation="解析",
                            source="特种作业目录", difficulty=2, tags=",特种作业,", status="active", version=1,
                            times_answered=0, times_correct=0))
    db.session.commit()
    login("manager_a")
    resp = client.get(f"/banks/{bank.id}/export?format={fmt}")
    assert resp.status_code == 200
    back = formats.parse(resp.data, "export" + formats.FILE_EXTENSIONS[fmt])
    assert back.ok, back.problems
    assert [(q.qtype, q.stem, q.options, q.answer) for q in back.questions] == [
        ("multiple", "哪些是特种作业？", ["电工作业", "焊接与热切割作业", "办公室文员"], "AB")]


def test_templates_download(client, world, login, db):
    login("trainer")
    xlsx = client.get("/banks/template.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    parsed = formats.parse(xlsx.data, "template.xlsx")
    assert parsed.ok and parsed.questions
    assert client.get("/banks/template.doc").status_code == 404


def test_trainer_home_lists_own_banks(client, world, login, db):
    _bank("我的消防题库", world.users["trainer"], n=2)
    login("trainer")
    home = client.get("/home")
    assert 'id="trainer-home"' in home.text and "我的消防题库" in home.text and "2 题" in home.text
