"""per-person training totals from the index alone on PostgreSQL: the record id joins the index

Revision ID: 0009_record_hours_index
Revises: 0008_coverage
Create Date: 2026-11-23 18:30:00

"""
from alembic import op


revision = '0009_record_hours_index'
down_revision = '0008_coverage'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite indexes always carry the row id; only PostgreSQL needs the index rebuilt.
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_training_record_person_on', table_name='training_record')
    op.create_index('ix_training_record_person_on', 'training_record', ['person_id', 'occurred_on', 'hours'],
                    unique=False, postgresql_include=['id'])


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_training_record_person_on', table_name='training_record')
    op.create_index('ix_training_record_person_on', 'training_record', ['person_id', 'occurred_on', 'hours'],
                    unique=False)
