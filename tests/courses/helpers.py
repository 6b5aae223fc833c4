"""Courses for the course tests."""
from __future__ import annotations

from trainapp.courses import markup
from trainapp.courses.models import Course, Lesson
from trainapp.extensions import db


def make_course(title="动火作业安全", lessons=(("text", 0.5, 60), ("text", 1.0, 60)), exam=None, status="published",
                audiences=(), owner=None, idle_minutes=5, video_seconds=100):
    course = Course(title=title, description="课程简介", audiences=list(audiences), status=status,
                    owner_id=owner.id if owner else None, exam_id=exam.id if exam else None, idle_minutes=idle_minutes)
    for position, (kind, hours, min_seconds) in enumerate(lessons, 1):
        body = f"## 第{position}节\n\n正文内容 <script>alert({position})</script>"
        course.lessons.append(Lesson(position=position, title=f"{title}第{position}节", kind=kind, body_md=body,
                                     body_html=markup.render(body), hours=hours, min_seconds=min_seconds,
                                     video_seconds=video_seconds if kind == "video" else None,
                                     video_url="https://video.example.org/a.mp4" if kind == "video" else None))
    db.session.add(course)
    db.session.commit()
    return course
