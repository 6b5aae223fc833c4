"""`flask questionbank import|export|load-shipped`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Blueprint
from sqlalchemy import select

from trainapp.extensions import db
from trainapp.questionbank import formats, service
from trainapp.questionbank.models import QuestionBank

bp = Blueprint("questionbank_cli", __name__, cli_group="questionbank")


def _echo_problems(result, err: bool = True) -> None:
    for p in result.problems:
        kind = {"error": "error", "unsupported": "unsupported", "warning": "warning"}[p.kind]
        click.echo(f"{p.ref}: [{kind}] {p.message}", err=err)


def _owner_id(login: str | None) -> int | None:
    if not login:
        return None
    from trainapp.auth.models import User

    user = db.session.scalar(select(User).where((User.username == login) | (User.mobile == login)))
    if user is None:
        raise click.BadParameter(f"no account {login!r}", param_hint="--owner")
    return user.id


@bp.cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "bank_name", help="Bank to import into; created when missing. "
              "Default: the bank name in a JSON file, else the file name.")
@click.option("--format", "fmt", type=click.Choice(["auto", *formats.FORMATS]), default="auto", show_default=True)
@click.option("--dry-run", is_flag=True, help="Parse and check only; write nothing.")
@click.option("--skip-unsupported", is_flag=True, help="Leave out questions of unsupported types instead of failing.")
@click.option("--include-duplicates", is_flag=True, help="Also import questions whose stem is already in the bank.")
@click.option("--owner", help="Login of the trainer who owns a bank this creates.")
def import_command(file: Path, bank_name, fmt, dry_run, skip_unsupported, include_duplicates, owner) -> None:
    """Import a question file; exits 1 on any error, listing each with its row or line."""
    data = file.read_bytes()
    result = formats.parse(data, file.name, fmt)
    name = (bank_name or (result.bank or {}).get("name") or service.name_from_filename(file.name)).strip()
    bank = service.find_bank(name)
    if bank is not None and bank.status != "active":
        click.echo(f"Bank {name!r} is archived; restore it before importing into it.", err=True)
        sys.exit(1)
    plan = service.plan_import(result, bank)
    _echo_problems(result)
    if plan.blocked(skip_unsupported):
        n_err, n_uns = len(result.errors), len(result.unsupported)
        click.echo(f"Import refused: {n_err} error(s), {n_uns} question(s) of unsupported types"
                   f"{' (use --skip-unsupported to leave them out)' if n_uns and not n_err else ''}; "
                   "nothing was written.", err=True)
        sys.exit(1)
    skipped = 0 if include_duplicates else plan.duplicates
    click.echo(f"{len(plan.items)} question(s) read: {len(plan.items) - skipped} to import, "
               f"{skipped} duplicate(s) skipped, into bank {name!r}{'' if bank else ' (new)'}.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    if bank is None:
        bank = service.new_bank(name, _owner_id(owner), result.bank)
    count = service.commit_import(plan, bank, include_duplicates=include_duplicates)
    from trainapp.audit import record

    record("import", bank, summary=f"{bank.name}: +{count}", file=file.name, questions=count)
    db.session.commit()
    click.echo(f"Imported {count} question(s) into bank #{bank.id} {bank.name!r}.")


@bp.cli.command("export")
@click.argument("bank")
@click.option("--format", "fmt", type=click.Choice(list(formats.EXPORT_FORMATS)), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True)
@click.option("--include-retired", is_flag=True)
def export_command(bank: str, fmt: str, output: Path, include_retired: bool) -> None:
    """Write BANK (its name or number) to a file."""
    found = service.find_bank(bank)
    if found is None and bank.isdigit():
        found = db.session.get(QuestionBank, int(bank))
    if found is None:
        click.echo(f"No bank named {bank!r}.", err=True)
        sys.exit(1)
    output.write_bytes(service.export_bank(found, fmt, include_retired=include_retired))
    click.echo(f"Wrote {found.name!r} as {fmt} to {output}.")


@bp.cli.command("load-shipped")
@click.option("--directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def load_shipped_command(directory: Path | None) -> None:
    """Load question_banks/*.json (idempotent: running it again changes nothing)."""
    try:
        s = service.load_shipped(directory or service.shipped_directory())
    except service.ShippedBankError as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Shipped banks: {s.banks_created} created; questions +{s.added} added, {s.updated} updated, "
               f"{s.retired} retired, {s.unchanged} unchanged.")
