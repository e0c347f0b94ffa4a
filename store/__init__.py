"""The store: the only package that knows Redis (its keys, its scripts, its errors).

``Store`` is the object the flow, the API and the worker hold; ``connect`` makes its
client; ``KeySpace`` names every key; ``StoreError`` / ``StoreUnavailable`` are what
callers catch instead of importing ``redis``. See ``ARCHITECTURE.md``.
"""

from crisiswatch.store.api_keys import TOKEN_PREFIX, ApiKeys, token_digest
from crisiswatch.store.client import Client, connect
from crisiswatch.store.connectors import CONNECTOR_COUNTS, Connectors
from crisiswatch.store.core import Store
from crisiswatch.store.errors import (
    TRANSIENT,
    UNAVAILABLE,
    ResponseError,
    StoreError,
    StoreUnavailable,
    hung,
    unavailable,
)
from crisiswatch.store.events import EVENTS_KEPT, EventLog
from crisiswatch.store.inputs import (
    DEFAULT_PARTITIONS,
    INPUT_FIELD,
    INPUT_GROUP,
    Entry,
    InputPartition,
    InputStreams,
    LayoutMismatch,
    shard_of,
)
from crisiswatch.store.keys import KeySpace
from crisiswatch.store.labels import LABELS_KEPT, Labels
from crisiswatch.store.lifecycle import Lifecycle
from crisiswatch.store.outbox import Outbox, Timers
from crisiswatch.store.reads import STAT_FIELDS
from crisiswatch.store.writer import TOPICS_KEPT, StoreWriter

__all__ = [
    "CONNECTOR_COUNTS", "DEFAULT_PARTITIONS", "EVENTS_KEPT", "INPUT_FIELD", "INPUT_GROUP",
    "LABELS_KEPT", "STAT_FIELDS", "TOKEN_PREFIX", "TOPICS_KEPT", "TRANSIENT", "UNAVAILABLE",
    "ApiKeys", "Client", "Connectors", "Entry", "EventLog", "InputPartition", "InputStreams",
    "KeySpace", "Labels", "LayoutMismatch", "Lifecycle", "Outbox", "ResponseError", "Store",
    "StoreError", "StoreUnavailable", "StoreWriter", "Timers", "connect", "hung", "shard_of",
    "token_digest", "unavailable",
]
