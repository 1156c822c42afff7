"""oral mandate requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:29:36.164910
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_idempotency_key_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('organisation_id', 'key', name=op.f('uq_idempotency_key_organisation_id_key'))
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_key_created_at'), ['created_at'], unique=False)

    op.create_table('request_block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_request_block_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_block')),
    sa.UniqueConstraint('email_hash', 'organisation_id', name=op.f('uq_request_block_email_hash_organisation_id'))
    )
    op.create_table('mandate_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('agent_pseudonym', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('client_ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_mandate_request_api_key_id_api_key')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_request_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_mandate_request_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate_request')),
    sa.UniqueConstraint('mandate_id', name=op.f('uq_mandate_request_mandate_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_mandate_request_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_mandate_request_token_hash'))
    )
    with op.batch_alter_table('mandate_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_request_client_ip_created_at'), ['client_ip', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_request_email_organisation_id_status'), ['email', 'organisation_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_request_status_expires_at'), ['status', 'expires_at'], unique=False)

    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.alter_column('holder_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.alter_column('holder_id',
               existing_type=sa.INTEGER(),
               nullable=False)

    with op.batch_alter_table('mandate_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_request_status_expires_at'))
        batch_op.drop_index(batch_op.f('ix_mandate_request_email_organisation_id_status'))
        batch_op.drop_index(batch_op.f('ix_mandate_request_client_ip_created_at'))

    op.drop_table('mandate_request')
    op.drop_table('request_block')
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_created_at'))

    op.drop_table('idempotency_key')
