"""Alembic environment: runs on the connection ``sales_channel.store.migrate`` hands over.

There is no alembic.ini: the migrations are only run through ``migrate()``, which has already begun
the transaction (and taken the lock) this runs in.
"""

from alembic import context
from sales_channel.store.models import Base

connection = context.config.attributes.get("sales_channel_connection")
if connection is None:
    raise RuntimeError("run the channel database migrations with sales_channel.store.migrate(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
