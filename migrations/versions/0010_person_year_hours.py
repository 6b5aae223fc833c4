"""yearly 学时 per person kept by triggers on training_record, filled from the records already there

Revision ID: 0010_person_year_hours
Revises: 0009_record_hours_index
Create Date: 2026-12-07 19:00:00

"""
from alembic import op
import sqlalchemy as sa

# The triggers the models create with create_all, so a database built either way has the same ones.
from trainapp.courses.models import YEAR_HOURS_DDL as TRIGGERS, YEAR_HOURS_DROP as DROP


revision = '0010_person_year_hours'
down_revision = '0009_record_hours_index'
branch_labels = None
depends_on = None

YEAR = {"sqlite": "CAST(substr(occurred_on, 1, 4) AS INTEGER)", "postgresql": "EXTRACT(YEAR FROM occurred_on)::int"}


def upgrade():
    op.create_table('person_year_hours',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_year_hours_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'year', name=op.f('pk_person_year_hours'))
    )
    dialect = op.get_bind().dialect.name
    year = YEAR.get(dialect)
    if year is None:
        return
    # The records already there, counted as the triggers will count new ones.
    op.execute(f"""INSERT INTO person_year_hours (person_id, year, hours, records)
SELECT person_id, {year}, SUM(hours), COUNT(*) FROM training_record
 WHERE id NOT IN (SELECT corrects_id FROM training_record WHERE corrects_id IS NOT NULL)
 GROUP BY person_id, {year}""")
    for statement in TRIGGERS[dialect]:
        op.execute(statement)


def downgrade():
    for statement in DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table('person_year_hours')
