"""`flask demo load` and `flask org seed`: demo population and reference data."""
from __future__ import annotations

import click
from flask import Blueprint

from trainapp.extensions import db

bp = Blueprint("demo", __name__, cli_group="demo")


@bp.cli.command("load")
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option("--people", type=int, default=100_000, show_default=True, help="large only")
@click.option("--enterprises", type=int, default=10_000, show_default=True, help="large only")
def load(size: str, people: int, enterprises: int) -> None:
    """Load the demo data (idempotent); --size large adds a synthetic population."""
    from trainapp.demo.data import load_small

    summary = load_small()
    db.session.commit()
    if size == "large":
        from trainapp.demo.large import load_large

        big = load_large(people=people, enterprises=enterprises)
        db.session.commit()
        click.echo(f"large: +{big['enterprises']} enterprises, +{big['people']} people in {big['seconds']:.1f} s")
    click.echo("Demo accounts (login / password / roles):")
    for login, password, roles in summary["accounts"]:
        click.echo(f"  {login:<14} {password}  {roles}")


@bp.cli.command("seed")
def seed() -> None:
    """Add the reference sectors that are missing."""
    from trainapp.org.seed import seed_sectors

    from trainapp.courses.compliance import seed_requirements

    from trainapp.coverage.service import seed_targets

    added = seed_sectors()
    seed_requirements()
    seed_targets()
    db.session.commit()
    click.echo(f"sectors added: {added}")
