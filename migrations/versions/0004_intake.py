"""intake and fair execution: the inbox, stored admin lists, outbox priority and coalescing,
who made a blacklist entry, an alliance's policy

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:40:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_status_id", ["status", "update_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_received_at"), ["received_at"], unique=False)

    op.create_table(
        "chat_admin",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("can_restrict", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_chat_admin")),
    )
    with op.batch_alter_table("chat_admin", schema=None) as batch_op:
        batch_op.create_index("ix_chat_admin_user_id", ["user_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("after_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_outbox_chat_coalesce", ["chat_id", "coalesce_key", "id"], unique=False
        )

    with op.batch_alter_table("blacklist", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("added_as", sa.String(length=8), server_default="auto", nullable=False)
        )
    _who_added_each_entry()
    with op.batch_alter_table("alliance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy", JSON, server_default="{}", nullable=False))

    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_update_at"))
    op.drop_table("processed_update")


def _who_added_each_entry() -> None:
    """Entries an owner of the alliance made are the owners' to lift; other people's are
    admins' entries; entries nobody made stay automatic."""
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE blacklist SET added_as = 'admin' WHERE added_by IS NOT NULL"))
    owners = sa.text(
        "UPDATE blacklist SET added_as = 'owner' WHERE alliance_id = :alliance AND added_by IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for alliance, owner_ids in bind.execute(sa.text("SELECT id, owner_ids FROM alliance")).all():
        ids = json.loads(owner_ids) if isinstance(owner_ids, str) else owner_ids
        if ids:
            bind.execute(owners, {"alliance": alliance, "ids": [int(i) for i in ids]})


def downgrade() -> None:
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_update")),
    )
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_update_at"), ["at"], unique=False)
    op.execute(
        "INSERT INTO processed_update (update_id, at) "
        "SELECT update_id, received_at FROM inbox WHERE status <> 'pending'"
    )

    with op.batch_alter_table("alliance", schema=None) as batch_op:
        batch_op.drop_column("policy")
    with op.batch_alter_table("blacklist", schema=None) as batch_op:
        batch_op.drop_column("added_as")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat_coalesce")
        batch_op.drop_column("after_id")
        batch_op.drop_column("coalesce_key")
        batch_op.drop_column("priority")

    with op.batch_alter_table("chat_admin", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_admin_user_id")
    op.drop_table("chat_admin")

    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_received_at"))
        batch_op.drop_index("ix_inbox_status_id")
    op.drop_table("inbox")
