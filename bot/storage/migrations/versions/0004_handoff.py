"""handoff: lead lifecycle, audit log, relayed messages, translation cache, general outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("active_lead_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("leads") as batch:
        batch.add_column(
            sa.Column("handoff", sa.String(length=16), nullable=False, server_default="waiting")
        )
        batch.add_column(sa.Column("advisor_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("advisor_name", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reannounce_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("topic_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("card_chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("card_message_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_leads_reannounce_at", ["reannounce_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="telegram")
        )
        batch.add_column(sa.Column("ordering_key", sa.String(length=48), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_index("ix_outbox_person_id", ["person_id"])
        batch.create_index("ix_outbox_ordering_key", ["ordering_key"])
        batch.create_foreign_key(
            "fk_outbox_person_id", "persons", ["person_id"], ["id"], ondelete="CASCADE"
        )
    op.create_table(
        "lead_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_events_lead_id", "lead_events", ["lead_id"])
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=True),
        sa.Column("source_language", sa.String(length=16), nullable=False),
        sa.Column("target_language", sa.String(length=16), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("translation", sa.Text(), nullable=True),
        sa.Column("translation_note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relay_messages_lead_id", "relay_messages", ["lead_id"])
    op.create_index("ix_relay_messages_person_id", "relay_messages", ["person_id"])
    op.create_table(
        "translation_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_translation_cache_person_id", "translation_cache", ["person_id"])


def downgrade() -> None:
    op.drop_table("translation_cache")
    op.drop_table("relay_messages")
    op.drop_table("lead_events")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_person_id", type_="foreignkey")
        batch.drop_index("ix_outbox_ordering_key")
        batch.drop_index("ix_outbox_person_id")
        batch.drop_column("payload")
        batch.drop_column("ordering_key")
        batch.drop_column("channel")
        batch.drop_column("person_id")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_reannounce_at")
        for column in (
            "card_message_id",
            "card_chat_id",
            "topic_id",
            "reannounce_at",
            "closed_at",
            "claimed_at",
            "advisor_name",
            "advisor_id",
            "handoff",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("unreachable_at")
        batch.drop_column("active_lead_id")
