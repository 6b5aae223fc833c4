"""Authoring courses and lessons: the editor, sanitised text, uploads checked by content, the lesson
rules (no deletion once learners have progress), publishing, who may edit, and serving media.

Access rule under test: admins manage every course (shipped ones too), trainers and managers the
courses they created; other authors get 403, learners and enterprise admins 403 on authoring pages.
"""
from __future__ import annotations

import io
import os
import re

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_from
from tests.courses.helpers import make_course
from tests.exams.helpers import make_bank, make_exam
from trainapp.audit import AuditEvent
from trainapp.auth.models import RoleGrant
from trainapp.courses import media, service
from trainapp.courses.models import Course, Lesson, LessonProgress
from trainapp.extensions import db as _db
from trainapp.files import StoredFile

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x00" * 200)
MKV = WEBM.replace(b"\x84webm", b"\x88matroska")
AVI = b"RIFF\x00\x10\x00\x00AVI LIST" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def media_dir(app, tmp_path, monkeypatch):
    """Videos go to a temporary instance folder, not the project's."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path / "media" / "videos"


def submit(client, url, data, **kw):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)}, **kw)


def course_data(**overrides) -> dict:
    data = {"title": "有限空间作业安全", "description": "简介", "idle_minutes": "5", "exam_id": "0",
            "status": "draft"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def lesson_data(**overrides) -> dict:
    data = {"title": "第一节", "kind": "text", "hours": "0.5", "min_minutes": "3", "source": "《安全生产法》",
            "body_md": "## 要点\n\n正文", "video_url": "", "video_length": ""}
    data.update(overrides)
    return data


def post_action(client, url, page_url, **data):
    page = client.get(page_url)
    return client.post(url, data={**data, "csrf_token": csrf_from(page.text)})


def lessons_of(course_id: int) -> list[Lesson]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Lesson).where(Lesson.course_id == course_id).order_by(Lesson.position)))


def add_lesson(client, course_id, **overrides):
    url = f"/courses/manage/{course_id}/lessons/new"
    return submit(client, url, lesson_data(**overrides), content_type="multipart/form-data")


def fresh(model, ident):
    _db.session.expire_all()
    return _db.session.get(model, ident)


def new_lesson_count() -> int:
    return _db.session.scalar(select(func.count(Lesson.id)))


# --- the course editor --------------------------------------------------------------------

def test_trainer_creates_a_course_and_publishing_needs_a_lesson(client, world, login):
    login("trainer")
    resp = submit(client, "/courses/manage/new", course_data(status="published", audiences=["principal"]))
    assert resp.status_code == 200
    assert "发布前请至少添加一节课" in resp.text
    assert _db.session.scalar(select(func.count(Course.id))) == 0

    resp = submit(client, "/courses/manage/new", course_data(audiences=["principal", "safety_manager"],
                                                             sectors=[str(world.trade.id)], idle_minutes="10"))
    assert resp.status_code == 302
    course = _db.session.scalars(select(Course)).one()
    assert (course.title, course.status, course.owner_id) == ("有限空间作业安全", "draft",
                                                              world.users["trainer"].id)
    assert course.audiences == ["principal", "safety_manager"]
    assert [s.id for s in course.sectors] == [world.trade.id]
    assert course.idle_minutes == 10

    detail = f"/courses/manage/{course.id}"
    resp = post_action(client, f"{detail}/status", detail, status="published")
    assert resp.status_code == 302
    assert "发布前请至少添加一节课" in client.get(detail).text
    _db.session.expire_all()
    assert _db.session.get(Course, course.id).status == "draft"

    assert add_lesson(client, course.id).status_code == 302
    post_action(client, f"{detail}/status", detail, status="published")
    _db.session.expire_all()
    assert _db.session.get(Course, course.id).status == "published"
    assert _db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "publish",
                                                          AuditEvent.entity_id == course.id)) is not None


def test_idle_minutes_are_limited_to_one_to_sixty(client, world, login):
    login("trainer")
    for bad in ("0", "61"):
        resp = submit(client, "/courses/manage/new", course_data(idle_minutes=bad))
        assert resp.status_code == 200
    assert _db.session.scalar(select(func.count(Course.id))) == 0


def test_exam_choices_are_the_exams_the_author_manages(client, world, login):
    bank = make_bank()
    mine = make_exam(bank, title="我的考试", status="draft", owner=world.users["trainer"])
    theirs = make_exam(bank, title="别人的考试", owner=world.users["manager_a"])
    closed = make_exam(bank, title="已结束的考试", status="closed", owner=world.users["trainer"])
    login("trainer")
    page = client.get("/courses/manage/new").text
    assert "我的考试" in page and "别人的考试" not in page and "已结束的考试" not in page
    resp = submit(client, "/courses/manage/new", course_data(exam_id=str(theirs.id)))
    assert resp.status_code == 200
    assert _db.session.scalar(select(func.count(Course.id))) == 0
    resp = submit(client, "/courses/manage/new", course_data(exam_id=str(mine.id)))
    assert resp.status_code == 302
    assert _db.session.scalars(select(Course)).one().exam_id == mine.id
    resp = submit(client, "/courses/manage/new", course_data(exam_id=str(closed.id)))
    assert resp.status_code == 200


# --- text lessons ----------------------------------------------------------------------------

HOSTILE = ("# 标题\n\n**要点**\n\n<script>alert('x1')</script>\n\n<img src=x onerror=\"alert('x2')\">\n\n"
           "[点我](javascript:alert('x3'))\n\n<a href=\"javascript:alert('x4')\">链接</a>\n\n"
           "<p onclick=\"alert('x5')\">段落</p>\n")


def test_markdown_is_stored_sanitised_and_shown_escaped(client, world, login):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    resp = add_lesson(client, course.id, body_md=HOSTILE)
    assert resp.status_code == 302
    lesson = lessons_of(course.id)[0]
    assert lesson.body_md == HOSTILE.strip()  # the author's text is kept as written
    html = lesson.body_html
    for bad in ("<script", "x1", "onerror", "x2", "onclick", "x5", "x4", "<img", "href=\"javascript"):
        assert bad not in html
    # The Markdown javascript: link is not made a link at all: it stays visible as plain text.
    assert re.findall(r"<a\b[^>]*\bhref=", html) == []
    assert "<strong>要点</strong>" in html and "标题" in html and "<h1" not in html
    assert "段落" in html and "链接" in html

    preview = client.get(f"/courses/manage/lessons/{lesson.id}").text
    body = preview.split('id="lesson-body">', 1)[1].split("</div>", 1)[0]
    for bad in ("<script", "x1", "onerror", "onclick", "href=\"javascript"):
        assert bad not in body
    assert "<strong>要点</strong>" in body
    assert "<script>alert" not in preview and "onerror" not in preview

    form = client.get(f"/courses/manage/lessons/{lesson.id}/edit").text
    assert "&lt;script&gt;alert(&#39;x1&#39;)&lt;/script&gt;" in form
    assert "<script>alert" not in form


def test_text_lesson_needs_a_body_and_sensible_hours(client, world, login):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    assert add_lesson(client, course.id, body_md="   ").status_code == 200
    assert add_lesson(client, course.id, hours="0").status_code == 200
    assert add_lesson(client, course.id, hours="8.5").status_code == 200
    assert add_lesson(client, course.id, title="").status_code == 200
    assert new_lesson_count() == 0
    assert add_lesson(client, course.id, hours="1.5", min_minutes="20").status_code == 302
    lesson = lessons_of(course.id)[0]
    assert (lesson.hours, lesson.min_seconds, lesson.source) == (1.5, 1200, "《安全生产法》")


# --- PDF lessons ------------------------------------------------------------------------------

def pdf_upload(data: bytes, name="讲义.pdf"):
    return (io.BytesIO(data), name, "application/pdf")


def test_pdf_upload_is_checked_by_content(client, world, login, monkeypatch):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    resp = add_lesson(client, course.id, kind="pdf", body_md="", pdf=pdf_upload(b"<html>not a pdf</html>"))
    assert resp.status_code == 200
    assert "文件不是 PDF 文档" in resp.text
    resp = add_lesson(client, course.id, kind="pdf", body_md="")
    assert "请上传 PDF 文件" in resp.text
    assert new_lesson_count() == 0

    monkeypatch.setattr(media, "PDF_MAX_BYTES", 40)
    resp = add_lesson(client, course.id, kind="pdf", body_md="", pdf=pdf_upload(PDF))
    assert resp.status_code == 200
    assert "PDF 文件超过" in resp.text and "上限" in resp.text
    assert new_lesson_count() == 0
    monkeypatch.undo()

    resp = add_lesson(client, course.id, kind="pdf", body_md="", pdf=pdf_upload(PDF))
    assert resp.status_code == 302
    lesson = lessons_of(course.id)[0]
    stored = _db.session.get(StoredFile, lesson.file_id)
    assert (stored.media_type, stored.data, stored.filename) == ("application/pdf", PDF, "讲义.pdf")

    shown = client.get(f"/courses/manage/lessons/{lesson.id}/pdf")
    assert shown.status_code == 200 and shown.mimetype == "application/pdf" and shown.data == PDF
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]

    # Editing without a new file keeps the PDF; turning the lesson into text drops the unused file.
    assert submit(client, f"/courses/manage/lessons/{lesson.id}/edit",
                  lesson_data(kind="pdf", title="改名"), content_type="multipart/form-data").status_code == 302
    assert lessons_of(course.id)[0].file_id == stored.id
    assert submit(client, f"/courses/manage/lessons/{lesson.id}/edit", lesson_data(kind="text"),
                  content_type="multipart/form-data").status_code == 302
    assert lessons_of(course.id)[0].file_id is None
    assert _db.session.scalar(select(func.count(StoredFile.id))) == 0


# --- video lessons ----------------------------------------------------------------------------

def video_upload(data: bytes, name="课程.mp4"):
    return (io.BytesIO(data), name, "video/mp4")


def stored_videos(folder) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.mark.parametrize("data", [AVI, os.urandom(300), MKV, b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50])
def test_video_that_browsers_cannot_play_is_refused(client, world, login, media_dir, data):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    resp = add_lesson(client, course.id, kind="video", video_length="1:30", video=video_upload(data))
    assert resp.status_code == 200
    assert "浏览器无法播放此格式，请转换为 MP4（H.264）或 WebM 后上传" in resp.text
    assert new_lesson_count() == 0
    assert [n for n in stored_videos(media_dir) if not n.startswith(".")] == []
    assert stored_videos(media_dir) == []  # no temporary file left behind


@pytest.mark.parametrize("data,ext,mime", [(MP4, "mp4", "video/mp4"), (WEBM, "webm", "video/webm")])
def test_mp4_and_webm_are_stored_on_disk_and_served_with_ranges(client, world, login, media_dir, data, ext, mime):
    import hashlib

    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    resp = add_lesson(client, course.id, kind="video", body_md="", video_length="12:30",
                      video=video_upload(data, f"录像.{ext}"))
    assert resp.status_code == 302
    lesson = lessons_of(course.id)[0]
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    assert (lesson.video_path, lesson.video_url, lesson.video_seconds) == (f"videos/{name}", None, 750)
    assert stored_videos(media_dir) == [name]
    assert (media_dir / name).read_bytes() == data

    whole = client.get(f"/courses/manage/lessons/{lesson.id}/video")
    assert whole.status_code == 200 and whole.mimetype == mime and whole.data == data
    whole.close()
    part = client.get(f"/courses/manage/lessons/{lesson.id}/video", headers={"Range": "bytes=4-7"})
    assert part.status_code == 206 and part.data == data[4:8]
    assert part.headers["Content-Range"] == f"bytes 4-7/{len(data)}"
    part.close()

    # A learner may not fetch a draft course's video; once published, any signed-in user may.
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login(world.users["learner"].mobile)
    assert client.get(f"/courses/manage/lessons/{lesson.id}/video").status_code == 404
    course = _db.session.get(Course, course.id)
    course.status = "published"
    _db.session.commit()
    shown = client.get(f"/courses/manage/lessons/{lesson.id}/video")
    assert shown.status_code == 200 and shown.data == data
    shown.close()


def test_video_needs_sign_in(client, world, media_dir):
    course = make_course(lessons=(("video", 0.5, 60),))
    resp = client.get(f"/courses/manage/lessons/{course.lessons[0].id}/video")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_oversize_video_is_refused_with_a_clear_message(client, world, login, media_dir, monkeypatch):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    monkeypatch.setattr(media, "VIDEO_MAX_BYTES", 1000)
    monkeypatch.setattr(media, "FORM_OVERHEAD_BYTES", 50_000)
    # Within the request limit but over the video limit: found while streaming to disk.
    resp = add_lesson(client, course.id, kind="video", video_length="1:00", video=video_upload(MP4 + b"\0" * 2000))
    assert resp.status_code == 200
    assert "视频文件超过" in resp.text and "上限" in resp.text
    # Far over: the request itself is refused before it is read, with the same message.
    resp = add_lesson(client, course.id, kind="video", video_length="1:00", video=video_upload(MP4 + b"\0" * 80_000))
    assert resp.status_code == 413
    assert "视频文件超过" in resp.text and "上限" in resp.text
    assert new_lesson_count() == 0
    assert stored_videos(media_dir) == []


def test_video_larger_than_the_app_default_limit_is_accepted(client, world, login, media_dir, app):
    """The lesson form raises the request limit for videos (the app's default is 25 MB)."""
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    big = MP4 + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024)
    url = f"/courses/manage/{course.id}/lessons/new"
    token = csrf_from(client.get(url).text)
    # Encoded in memory: the test client would otherwise spool the body to a file it never closes.
    boundary, body = encode_multipart(MultiDict({
        **lesson_data(kind="video", video_length="30:00"), "csrf_token": token,
        "video": FileStorage(io.BytesIO(big), filename="大视频.mp4", content_type="video/mp4")}))
    resp = client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 302
    assert (media_dir / lessons_of(course.id)[0].video_path.split("/")[1]).stat().st_size == len(big)


def test_video_link_must_be_http_and_duration_is_required(client, world, login, media_dir):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    for url in ("javascript:alert(1)", "ftp://example.org/a.mp4", "//example.org/a.mp4"):
        resp = add_lesson(client, course.id, kind="video", video_url=url, video_length="5:00")
        assert "请填写 http:// 或 https:// 开头的链接" in resp.text
    for length in ("", "abc", "5", "5:75", "0:00"):
        resp = add_lesson(client, course.id, kind="video", video_url="https://v.example.org/a.mp4",
                          video_length=length)
        assert "请按“分:秒”填写视频时长" in resp.text
    resp = add_lesson(client, course.id, kind="video", video_length="5:00")
    assert "请上传视频文件或填写视频链接" in resp.text
    resp = add_lesson(client, course.id, kind="video", video_url="https://v.example.org/a.mp4", video_length="5:00",
                      video=video_upload(MP4))
    assert "请只选择一种" in resp.text
    assert new_lesson_count() == 0
    assert stored_videos(media_dir) == []
    resp = add_lesson(client, course.id, kind="video", video_url="https://v.example.org/a.mp4",
                      video_length="1:02:03")
    assert resp.status_code == 302
    lesson = lessons_of(course.id)[0]
    assert (lesson.video_url, lesson.video_path, lesson.video_seconds) == ("https://v.example.org/a.mp4", None, 3723)


def test_video_lesson_can_switch_from_link_to_upload_and_keeps_its_upload(client, world, login, media_dir):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    add_lesson(client, course.id, kind="video", video_url="https://v.example.org/a.mp4", video_length="5:00")
    lesson = lessons_of(course.id)[0]
    edit = f"/courses/manage/lessons/{lesson.id}/edit"
    assert submit(client, edit, lesson_data(kind="video", video_url="", video_length="5:00", video=video_upload(MP4)),
                  content_type="multipart/form-data").status_code == 302
    lesson = lessons_of(course.id)[0]
    assert lesson.video_url is None and lesson.video_path.endswith(".mp4")
    assert submit(client, edit, lesson_data(kind="video", video_url="", video_length="6:00", title="新标题"),
                  content_type="multipart/form-data").status_code == 302
    lesson = lessons_of(course.id)[0]
    assert (lesson.title, lesson.video_seconds) == ("新标题", 360) and lesson.video_path.endswith(".mp4")


# --- lesson list rules -------------------------------------------------------------------------

def test_lessons_are_added_reordered_edited_and_deleted(client, world, login):
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    for title in ("甲", "乙", "丙"):
        assert add_lesson(client, course.id, title=title).status_code == 302
    ids = [lesson.id for lesson in lessons_of(course.id)]
    detail = f"/courses/manage/{course.id}"
    post_action(client, f"/courses/manage/lessons/{ids[2]}/move", detail, direction="up")
    assert [lesson.title for lesson in lessons_of(course.id)] == ["甲", "丙", "乙"]
    post_action(client, f"/courses/manage/lessons/{ids[0]}/move", detail, direction="up")  # already first
    post_action(client, f"/courses/manage/lessons/{ids[0]}/move", detail, direction="down")
    assert [lesson.title for lesson in lessons_of(course.id)] == ["丙", "甲", "乙"]
    assert [lesson.position for lesson in lessons_of(course.id)] == [1, 2, 3]

    assert submit(client, f"/courses/manage/lessons/{ids[1]}/edit", lesson_data(title="乙（修订）", body_md="新正文"),
                  content_type="multipart/form-data").status_code == 302
    edited = fresh(Lesson, ids[1])
    assert (edited.title, edited.body_md, edited.body_html) == ("乙（修订）", "新正文", "<p>新正文</p>\n")

    resp = post_action(client, f"/courses/manage/lessons/{ids[2]}/delete", detail)
    assert resp.status_code == 302
    remaining = lessons_of(course.id)
    assert [lesson.title for lesson in remaining] == ["甲", "乙（修订）"]
    assert [lesson.position for lesson in remaining] == [1, 2]
    assert _db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "delete",
                                                          AuditEvent.entity_type == "lesson")) is not None


def test_once_learners_have_progress_lessons_are_edited_but_not_deleted(client, world, login):
    course = make_course(owner=world.users["trainer"])
    first, second = course.lessons
    enrolment = service.enrol(world.users["learner"].person, course)
    _db.session.add(LessonProgress(enrolment_id=enrolment.id, lesson_id=first.id, active_seconds=30, watched="",
                                   reached_end=False))
    _db.session.commit()
    login("trainer")
    detail = f"/courses/manage/{course.id}"
    assert "已有学员开始学习本课程" in client.get(detail).text
    resp = post_action(client, f"/courses/manage/lessons/{second.id}/delete", detail)
    assert resp.status_code == 302
    assert "不能删除课时" in client.get(detail).text
    assert len(lessons_of(course.id)) == 2

    edit = f"/courses/manage/lessons/{first.id}/edit"
    assert submit(client, edit, lesson_data(title="改过的标题", body_md="更正后的正文"),
                  content_type="multipart/form-data").status_code == 302
    assert fresh(Lesson, first.id).body_md == "更正后的正文"
    resp = submit(client, edit, lesson_data(kind="video", video_url="https://v.example.org/a.mp4",
                                            video_length="5:00"), content_type="multipart/form-data")
    assert resp.status_code == 200 and "不能更改类型" in resp.text
    assert fresh(Lesson, first.id).kind == "text"
    # Reordering and adding stay possible.
    post_action(client, f"/courses/manage/lessons/{second.id}/move", detail, direction="up")
    assert [lesson.id for lesson in lessons_of(course.id)] == [second.id, first.id]
    assert add_lesson(client, course.id, title="补充").status_code == 302
    assert len(lessons_of(course.id)) == 3


def test_published_course_keeps_at_least_one_lesson(client, world, login):
    course = make_course(lessons=(("text", 0.5, 60),), owner=world.users["trainer"])
    login("trainer")
    detail = f"/courses/manage/{course.id}"
    post_action(client, f"/courses/manage/lessons/{course.lessons[0].id}/delete", detail)
    assert len(lessons_of(course.id)) == 1
    assert "至少要保留一节课" in client.get(detail).text


# --- access -------------------------------------------------------------------------------------

def test_other_authors_and_learners_are_refused(client, world, login):
    course = make_course(status="draft", owner=world.users["trainer"])
    lesson = course.lessons[0]
    factories.user("trainer2", RoleGrant(role="trainer"))
    _db.session.commit()
    login("trainer2")
    assert client.get("/courses/manage/").status_code == 200
    assert "动火作业安全" not in client.get("/courses/manage/").text
    for url in (f"/courses/manage/{course.id}", f"/courses/manage/{course.id}/edit",
                f"/courses/manage/{course.id}/lessons/new", f"/courses/manage/lessons/{lesson.id}/edit",
                f"/courses/manage/lessons/{lesson.id}"):
        assert client.get(url).status_code == 403, url
    token = csrf_from(client.get("/courses/manage/").text)
    for url, data in ((f"/courses/manage/lessons/{lesson.id}/delete", {}),
                      (f"/courses/manage/lessons/{lesson.id}/move", {"direction": "down"}),
                      (f"/courses/manage/{course.id}/status", {"status": "published"}),
                      (f"/courses/manage/{course.id}/lessons/new", lesson_data())):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert client.get(f"/courses/manage/lessons/{lesson.id}/video").status_code == 404  # a draft
    assert len(lessons_of(course.id)) == 2
    _db.session.expire_all()
    assert _db.session.get(Course, course.id).status == "draft"

    client.post("/auth/logout", data={"csrf_token": token})
    login(world.users["learner"].mobile)
    for url in ("/courses/manage/", "/courses/manage/new", f"/courses/manage/{course.id}",
                f"/courses/manage/lessons/{lesson.id}/edit"):
        assert client.get(url).status_code == 403, url


def test_shipped_courses_are_edited_by_admins_only(client, world, login):
    course = make_course(owner=None)
    login("trainer")
    assert client.get(f"/courses/manage/{course.id}/edit").status_code == 403
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    login("admin")
    assert client.get(f"/courses/manage/{course.id}").status_code == 200
    resp = submit(client, f"/courses/manage/{course.id}/edit", course_data(title="内置课程（修订）", status="published"))
    assert resp.status_code == 302
    _db.session.expire_all()
    course = _db.session.get(Course, course.id)
    assert (course.title, course.owner_id) == ("内置课程（修订）", None)


def test_manager_authors_own_courses(client, world, login):
    login("manager_a")
    assert submit(client, "/courses/manage/new", course_data(title="街道课程")).status_code == 302
    course = _db.session.scalars(select(Course)).one()
    assert course.owner_id == world.users["manager_a"].id
    assert client.get(f"/courses/manage/{course.id}").status_code == 200


def test_unknown_course_is_404(client, world, login):
    login("trainer")
    assert client.get("/courses/manage/999999").status_code == 404
    assert client.get("/courses/manage/lessons/999999/edit").status_code == 404


def test_upload_with_progress_bar_gets_json_answers(client, world, login):
    """The lesson form posts through XMLHttpRequest (for the progress bar) and gets JSON back."""
    course = make_course(status="draft", lessons=(), owner=world.users["trainer"])
    login("trainer")
    url = f"/courses/manage/{course.id}/lessons/new"
    token = csrf_from(client.get(url).text)
    xhr = {"X-Requested-With": "XMLHttpRequest"}
    resp = client.post(url, data={**lesson_data(kind="pdf", body_md=""), "csrf_token": token,
                                  "pdf": pdf_upload(b"GIF89a not a pdf")}, headers=xhr,
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert any("文件不是 PDF 文档" in message for message in resp.get_json()["errors"])
    assert new_lesson_count() == 0
    resp = client.post(url, data={**lesson_data(kind="pdf", body_md=""), "csrf_token": token,
                                  "pdf": pdf_upload(PDF)}, headers=xhr, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert resp.get_json() == {"next": f"/courses/manage/{course.id}"}
    assert lessons_of(course.id)[0].kind == "pdf"
    # The CSRF token is still required on this route (it is checked by the form itself).
    resp = client.post(url, data=lesson_data(), headers=xhr, content_type="multipart/form-data")
    assert resp.status_code == 422 and len(lessons_of(course.id)) == 1
    assert resp.get_json()["errors"][0] == "页面已过期或表单无效，请刷新后重试"
    resp = client.post(url, data=lesson_data(), content_type="multipart/form-data")
    assert resp.status_code == 200 and 'id="csrf-error"' in resp.text and len(lessons_of(course.id)) == 1
