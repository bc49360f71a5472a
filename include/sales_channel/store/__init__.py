"""The channel database: the product's own tables (see DESIGN.md, "The channel database").

    migrate("sqlite:////path/channel.db")                        # a deployment step (python -m sales_channel migrate)
    store = ChannelStore.open("sqlite:////path/channel.db")      # checks the schema is at head
    changed = store.snapshots.upsert(OrderSnapshot.from_amazon(account, order_json))
    result = store.links.create(account, order_id, commerce_entity_id=..., commerce_increment_id=..., store_code=...)
    items = store.outbox.claim(worker="task-42", limit=20, lease=timedelta(minutes=5))

No table holds buyer PII: snapshots are stripped of it (``strip_buyer_pii``) and JSON written to
events and the outbox is refused when it names buyer data.
"""

from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.engine import create_engine_for, read_only
from sales_channel.store.links import LinkResult
from sales_channel.store.locks import LockLost, LockTimeout
from sales_channel.store.migrate import (
    SchemaNotCurrentError,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from sales_channel.store.models import (
    AmazonOrder,
    OrderEvent,
    OrderLink,
    OutboxItem,
    OutboxStatus,
    QuarantinedOrder,
    RateBucket,
    SkuMapping,
    Watermark,
)
from sales_channel.store.outbox import LeaseLost
from sales_channel.store.quarantine import Backoff
from sales_channel.store.sanitize import ensure_no_pii, find_pii_keys, strip_buyer_pii
from sales_channel.store.snapshots import OrderSnapshot

__all__ = [
    "AmazonOrder", "Backoff", "ChannelStore", "LeaseLost", "LinkResult", "LockLost", "LockTimeout", "SchemaNotCurrentError", "OrderEvent", "OrderLink", "OrderSnapshot",
    "OutboxItem", "OutboxStatus", "QuarantinedOrder", "RateBucket", "SkuMapping", "Watermark", "create_engine_for",
    "current_revision", "downgrade", "ensure_no_pii", "find_pii_keys", "head_revision", "migrate", "read_only",
    "strip_buyer_pii",
]
