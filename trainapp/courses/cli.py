"""`flask courses load-shipped`."""
from __future__ import annotations

import sys

import click
from flask import Blueprint

from trainapp.extensions import db

bp = Blueprint("courses_cli", __name__, cli_group="courses")


@bp.cli.command("load-shipped")
def load_shipped_command() -> None:
    """Load the starter courses and their exams (idempotent; needs the shipped question banks)."""
    from trainapp.courses.content import ContentError
    from trainapp.courses.shipped import ShippedCourseError, load_shipped_courses

    try:
        s = load_shipped_courses()
    except (ContentError, ShippedCourseError) as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Starter courses: {s.created} created, {s.updated} updated, {s.unchanged} unchanged.")
