"""What webhook and e-mail delivery share: the headers, the signature, the secret and
an attempt's outcome (``worker/webhooks.py`` sends over HTTP, ``worker/smtp.py`` over
SMTP)."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

SECRET_ENV = "CRISISWATCH_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Crisiswatch-Signature"
TIMESTAMP_HEADER = "X-Crisiswatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Crisiswatch-Event"


def secret_from_env() -> bytes | None:
    value = os.environ.get(SECRET_ENV, "")
    return value.encode() if value else None


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str
    retryable: bool
    retry_after: float | None
    seconds: float
