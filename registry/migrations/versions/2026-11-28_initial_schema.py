"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 14:26:20.802573
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_audit_event_chain_seq'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('audit_head',
    sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('head_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_seal',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_seal')),
    sa.UniqueConstraint('event_id', name=op.f('uq_audit_seal_event_id'))
    )
    op.create_table('holder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holder')),
    sa.UniqueConstraint('email', name=op.f('uq_holder_email'))
    )
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('default_language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisation_slug'))
    )
    op.create_table('outbox_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_message_id'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_status_next_attempt_at'), ['status', 'next_attempt_at'], unique=False)

    op.create_table('sign_in_link',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_link_token_hash'))
    )
    with op.batch_alter_table('sign_in_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_link_client_ip_created_at'), ['client_ip', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_link_email_created_at'), ['email', 'created_at'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_api_key_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('customer_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('proxy_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('proxy_relation', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('proxy_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('proxy_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('binding', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('notify_checks', sa.Boolean(), nullable=False),
    sa.Column('expiry_notice_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['holder_id'], ['holder.id'], name=op.f('fk_mandate_holder_id_holder')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_mandate_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate')),
    sa.UniqueConstraint('reference', name=op.f('uq_mandate_reference'))
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_organisation_id_customer_reference'), ['organisation_id', 'customer_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_status_valid_until'), ['status', 'valid_until'], unique=False)

    op.create_table('web_session',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['holder_id'], ['holder.id'], name=op.f('fk_web_session_holder_id_holder')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_session_token_hash'))
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_holder_id'), ['holder_id'], unique=False)

    op.create_table('api_key_failures',
    sa.Column('api_key_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_api_key_failures_api_key_id_api_key')),
    sa.PrimaryKeyConstraint('api_key_id', 'minute', name=op.f('pk_api_key_failures'))
    )
    op.create_table('authenticator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_authenticator_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authenticator')),
    sa.UniqueConstraint('mandate_id', name=op.f('uq_authenticator_mandate_id'))
    )
    op.create_table('authenticator_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_authenticator_invitation_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authenticator_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_authenticator_invitation_token_hash'))
    )
    with op.batch_alter_table('authenticator_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authenticator_invitation_mandate_id'), ['mandate_id'], unique=False)

    op.create_table('call_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_call_code_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_code'))
    )
    with op.batch_alter_table('call_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_code_mandate_id_retired_at_used_at'), ['mandate_id', 'retired_at', 'used_at'], unique=False)

    op.create_table('mandate_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_failure_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate_failure'))
    )
    with op.batch_alter_table('mandate_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_failure_mandate_id_failed_at'), ['mandate_id', 'failed_at'], unique=False)

    op.create_table('mandate_guard',
    sa.Column('mandate_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hard_locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_mandate_guard_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('mandate_id', name=op.f('pk_mandate_guard'))
    )
    op.create_table('revoke_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_revoke_link_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revoke_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_revoke_link_token_hash'))
    )
    with op.batch_alter_table('revoke_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoke_link_mandate_id'), ['mandate_id'], unique=False)

    op.create_table('verification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('agent_pseudonym', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_verification_api_key_id_api_key')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_verification_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_verification_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification')),
    sa.UniqueConstraint('public_id', name=op.f('uq_verification_public_id'))
    )
    with op.batch_alter_table('verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_organisation_id_created_at'), ['organisation_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_organisation_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_verification_mandate_id'))

    op.drop_table('verification')
    with op.batch_alter_table('revoke_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoke_link_mandate_id'))

    op.drop_table('revoke_link')
    op.drop_table('mandate_guard')
    with op.batch_alter_table('mandate_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_failure_mandate_id_failed_at'))

    op.drop_table('mandate_failure')
    with op.batch_alter_table('call_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_code_mandate_id_retired_at_used_at'))

    op.drop_table('call_code')
    with op.batch_alter_table('authenticator_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authenticator_invitation_mandate_id'))

    op.drop_table('authenticator_invitation')
    op.drop_table('authenticator')
    op.drop_table('api_key_failures')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_holder_id'))

    op.drop_table('web_session')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_status_valid_until'))
        batch_op.drop_index(batch_op.f('ix_mandate_organisation_id_customer_reference'))
        batch_op.drop_index(batch_op.f('ix_mandate_holder_id'))

    op.drop_table('mandate')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_organisation_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('sign_in_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_link_email_created_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_link_client_ip_created_at'))

    op.drop_table('sign_in_link')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_status_next_attempt_at'))

    op.drop_table('outbox_message')
    op.drop_table('organisation')
    op.drop_table('holder')
    op.drop_table('audit_seal')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_holder_id'))

    op.drop_table('audit_event')
