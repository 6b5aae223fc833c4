"""coverage reports: targets and settings as data; indexes for per-person training totals and per-audience staff

Revision ID: 0008_coverage
Revises: 0007_spot_checks
Create Date: 2026-11-23 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_coverage'
down_revision = '0007_spot_checks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=30), nullable=False),
    sa.Column('percent', sa.Float(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('percent >= 0 AND percent <= 100', name=op.f('ck_coverage_target_percent_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_target')),
    sa.UniqueConstraint('measure', name=op.f('uq_coverage_target_measure'))
    )
    op.create_table('coverage_setting',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_coverage_setting'))
    )
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.create_index('ix_training_record_person_on', ['person_id', 'occurred_on', 'hours'], unique=False)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_enterprise_audience', ['enterprise_id', 'audience', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_enterprise_audience')
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.drop_index('ix_training_record_person_on')
    op.drop_table('coverage_setting')
    op.drop_table('coverage_target')
