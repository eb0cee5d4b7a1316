"""Jobs of any kind under leases, and the workers that run them.

A database written by the single-server store (``jobs`` with a ``plan`` column, ``reports``)
is carried over: its jobs keep their ids, results and reports; jobs it left running are queued.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    existing = sa.inspect(bind).get_table_names()
    legacy = "jobs" in existing and "kind" not in {
        column["name"] for column in sa.inspect(bind).get_columns("jobs")
    }
    if legacy:
        op.rename_table("jobs", "jobs_v0")
    op.create_table(
        "jobs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", sa.String(20), nullable=False),
        sa.Column("started", sa.String(20)),
        sa.Column("finished", sa.String(20)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("result", sa.LargeBinary),
        sa.Column("report", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("worker", sa.String(100)),
        sa.Column("lease_expires", sa.Float),
        sa.CheckConstraint("kind IN ('plan', 'tours')", name="jobs_kind"),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="jobs_status"),
        sa.CheckConstraint("(status = 'done') = (result IS NOT NULL)", name="jobs_done_result"),
        sa.CheckConstraint("(status = 'failed') = (error IS NOT NULL)", name="jobs_failed_error"),
    )
    op.create_index("jobs_by_status", "jobs", ["status", "seq"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.String(20), nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
        sa.Column("job", sa.String(32)),
    )
    if legacy:
        reports = "reports" in existing
        op.execute(
            "INSERT INTO jobs (id, kind, status, created, started, finished, attempts, request, "
            "result, report, error) "
            "SELECT j.id, 'plan', CASE j.status WHEN 'running' THEN 'queued' ELSE j.status END, "
            "j.created, j.started, j.finished, j.attempts, j.request, CAST(j.plan AS BLOB), "
            + ("r.html" if reports else "NULL")
            + ", j.error FROM jobs_v0 j "
            + ("LEFT JOIN reports r ON r.id = j.id " if reports else "")
            + "ORDER BY j.seq"
        )
        if reports:
            op.drop_table("reports")
        op.drop_table("jobs_v0")


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index("jobs_by_status", "jobs")
    op.drop_table("jobs")
