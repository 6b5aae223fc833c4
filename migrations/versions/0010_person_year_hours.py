"""yearly 学时 per person kept by triggers on training_record, filled from the records already there

Revision ID: 0010_person_year_hours
Revises: 0009_record_hours_index
Create Date: 2026-12-07 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_person_year_hours'
down_revision = '0009_record_hours_index'
branch_labels = None
depends_on = None

# The statements as they stood when this migration was written (the model module may change later).
TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER training_record_adds_year_hours AFTER INSERT ON training_record
BEGIN
  INSERT INTO person_year_hours (person_id, year, hours, records)
  VALUES (NEW.person_id, CAST(substr(NEW.occurred_on, 1, 4) AS INTEGER), NEW.hours, 1)
  ON CONFLICT (person_id, year) DO UPDATE SET hours = hours + excluded.hours, records = records + 1;
END""",
        """CREATE TRIGGER training_record_correction_year_hours AFTER INSERT ON training_record
WHEN NEW.corrects_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM training_record WHERE corrects_id = NEW.corrects_id AND id <> NEW.id)
BEGIN
  UPDATE person_year_hours
     SET hours = hours - (SELECT hours FROM training_record WHERE id = NEW.corrects_id), records = records - 1
   WHERE person_id = (SELECT person_id FROM training_record WHERE id = NEW.corrects_id)
     AND year = (SELECT CAST(substr(occurred_on, 1, 4) AS INTEGER) FROM training_record WHERE id = NEW.corrects_id);
END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION training_record_year_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_year_hours AS t (person_id, year, hours, records)
  SELECT person_id, EXTRACT(YEAR FROM occurred_on)::int, SUM(hours), COUNT(*) FROM new_rows GROUP BY 1, 2
  ON CONFLICT (person_id, year) DO UPDATE SET hours = t.hours + EXCLUDED.hours, records = t.records + EXCLUDED.records;
  UPDATE person_year_hours AS t SET hours = t.hours - c.hours, records = t.records - c.records
    FROM (SELECT r.person_id, EXTRACT(YEAR FROM r.occurred_on)::int AS year, SUM(r.hours) AS hours, COUNT(*) AS records
            FROM training_record r
           WHERE r.id IN (SELECT corrects_id FROM new_rows WHERE corrects_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM training_record o WHERE o.corrects_id = r.id
                                AND o.id NOT IN (SELECT id FROM new_rows))
           GROUP BY 1, 2) AS c
   WHERE t.person_id = c.person_id AND t.year = c.year;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER training_record_year_hours AFTER INSERT ON training_record
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION training_record_year_hours()""",
    ],
}
DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS training_record_correction_year_hours",
               "DROP TRIGGER IF EXISTS training_record_adds_year_hours"],
    "postgresql": ["DROP TRIGGER IF EXISTS training_record_year_hours ON training_record",
                   "DROP FUNCTION IF EXISTS training_record_year_hours()"],
}
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
