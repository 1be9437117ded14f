"""results revision

The number that grows with every change the results depend on other than a new response (a
review, an edited agency, counter or questionnaire): with the highest response and issued-link
ids it is the data version the stored results are keyed by.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "results_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0, "epoch": secrets.token_hex(8)}])


def downgrade() -> None:
    op.drop_table("results_revision")
