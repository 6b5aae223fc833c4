"""Migrations build the schema from empty and match the models (no drift), on this run's database."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from trainapp import create_app
from trainapp.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    # PostgreSQL: a separate schema-free database next to the test one.
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS trainapp_migrate"))
        conn.execute(text("CREATE DATABASE trainapp_migrate"))
    admin.dispose()
    yield url.rsplit("/", 1)[0] + "/trainapp_migrate"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS trainapp_migrate WITH (FORCE)"))
    admin.dispose()


def test_upgrade_from_empty_has_no_drift(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        names = set(inspect(db.engine).get_table_names())
        assert {"enterprise", "person", "user_account", "role_grant", "audit_event"} <= names
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        # Triggers are not compared above: the yearly 学时 ones must be there too.
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                triggers = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
                wanted = {"training_record_adds_year_hours", "training_record_correction_year_hours"}
            else:
                triggers = set(conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
                wanted = {"training_record_year_hours"}
        assert wanted <= triggers
        db.engine.dispose()
