"""`flask exams close-expired`: submit attempts whose time ran out (run it from cron every minute)."""
from __future__ import annotations

import click
from flask import Blueprint

from trainapp.exams import service

bp = Blueprint("exams_cli", __name__, cli_group="exams")


@bp.cli.command("close-expired")
def close_expired() -> None:
    """Grade every open attempt past its deadline; pages also do this as they are visited."""
    count = service.sweep_expired(limit=100_000)
    click.echo(f"Submitted {count} expired attempt(s).")
