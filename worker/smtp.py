"""E-mail destinations: an outbox message of format ``email`` sent over SMTP.

The message body (``response/notify.py``) holds the envelope and the text as JSON, so
that it is rendered once and every retry sends the same mail. It goes out with the same
guarantees as a webhook: one ``Message-ID`` and ``Idempotency-Key`` per message (a
mail client or a ticketing mailbox drops a repeat by its Message-ID), the HMAC
signature headers over the text (``X-Crisiswatch-Signature`` over
``{X-Crisiswatch-Timestamp}.{text}``, the text with its lines ended by LF as rendered,
for a mailbox robot that checks them; SMTP carries CRLF), the host
allowlist, and the outbox's retries: an SMTP 4xx answer or a lost connection is tried
again later, a 5xx is the server refusing the mail itself and goes to the dead letters.

``smtps://host:465`` is TLS from the start; ``smtp://host:587`` (or 25) upgrades with
STARTTLS when the server offers it. Credentials come from the environment
(``CRISISWATCH_SMTP_USERNAME`` / ``CRISISWATCH_SMTP_PASSWORD``) and are only ever sent
over TLS.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import orjson

from crisiswatch.worker.delivery import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Outcome,
    sign,
)

USERNAME_ENV = "CRISISWATCH_SMTP_USERNAME"
PASSWORD_ENV = "CRISISWATCH_SMTP_PASSWORD"

log = logging.getLogger("crisiswatch.webhooks")


def mail(message: dict[str, Any], secret: bytes, stamp: str) -> EmailMessage:
    """The mail for one outbox message, signed."""
    doc = orjson.loads(message["body"])
    mail = EmailMessage()
    mail["From"] = doc["from"]
    mail["To"] = ", ".join(doc["to"])
    mail["Subject"] = doc["subject"]
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message['id']}@crisiswatch>"
    mail[IDEMPOTENCY_HEADER] = message["id"]
    mail[EVENT_HEADER] = message["event"]
    mail[TIMESTAMP_HEADER] = stamp
    mail[SIGNATURE_HEADER] = sign(secret, stamp, doc["text"].encode())
    mail.set_content(doc["text"])
    return mail


def send_email(message: dict[str, Any], secret: bytes, timeout: float) -> Outcome:
    started = time.monotonic()
    url = urlsplit(message["url"])
    implicit_tls = url.scheme == "smtps"
    port = url.port or (465 if implicit_tls else 25)
    user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    try:
        client: smtplib.SMTP
        if implicit_tls:
            client = smtplib.SMTP_SSL(url.hostname or "", port, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(url.hostname or "", port, timeout=timeout)
        with client:
            tls = implicit_tls
            if not tls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                    tls = True
            if user and password:
                if not tls:
                    return Outcome(False, None, f"{url.hostname} offers no TLS: the SMTP "
                                   "credentials are not sent in clear", False, None,
                                   time.monotonic() - started)
                client.login(user, password)
            refused = client.send_message(mail(message, secret, str(int(time.time()))))
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        return Outcome(False, codes[0] if codes else None, f"SMTP refused every recipient: "
                       f"{e.recipients}", any(400 <= c < 500 for c in codes), None,
                       time.monotonic() - started)
    except smtplib.SMTPResponseException as e:
        detail = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) \
            else str(e.smtp_error)
        return Outcome(False, e.smtp_code, f"SMTP {e.smtp_code}: {detail[:200]}",
                       400 <= e.smtp_code < 500, None, time.monotonic() - started)
    except (smtplib.SMTPException, OSError) as e:
        return Outcome(False, None, f"{type(e).__name__}: {e or 'no detail'}", True, None,
                       time.monotonic() - started)
    if refused:
        log.warning("mail %s: some recipients refused: %s", message["id"], refused)
    return Outcome(True, 250, "", False, None, time.monotonic() - started)
