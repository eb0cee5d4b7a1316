"""Alembic's entry point for the job store: migrations run on the connection the store passes
(``config.attributes["connection"]``), inside the transaction it holds."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
