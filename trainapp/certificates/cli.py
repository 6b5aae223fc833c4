"""`flask certificates list|render`."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask import Blueprint
from sqlalchemy import select

from trainapp.certificates import pdf, service
from trainapp.certificates.models import Certificate
from trainapp.extensions import db

bp = Blueprint("certificates_cli", __name__, cli_group="certificates")


@bp.cli.command("list")
@click.option("--status", type=click.Choice(["valid", "expired", "revoked", "superseded"]))
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def list_command(status: str | None, fmt: str) -> None:
    """Print number, holder, status and verification URL of each certificate."""
    today = service.today()
    rows = []
    for cert in db.session.scalars(select(Certificate).order_by(Certificate.id)):
        state = cert.state(today)
        if status and state != status:
            continue
        rows.append((cert.number, cert.holder_name, state, service.verify_url(cert)))
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["number", "holder", "status", "verify_url"])
        writer.writerows(rows)
        return
    for number, holder, state, url in rows:
        click.echo(f"{number}  {holder}  {state}  {url}")
    click.echo(f"{len(rows)} certificate(s)")


@bp.cli.command("render")
@click.argument("number")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def render_command(number: str, output: Path) -> None:
    """Write certificate NUMBER's PDF to a file."""
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number.strip().upper()))
    if cert is None:
        click.echo(f"No certificate {number!r}.", err=True)
        sys.exit(1)
    output.write_bytes(pdf.stored_pdf(cert))
    click.echo(f"Wrote {cert.number} to {output}.")
