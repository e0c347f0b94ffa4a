"""Log output of the API and the CLI: text for people, or one JSON object a line for
log collectors; secrets redacted either way.

The API reads keys from the Authorization header only, and uvicorn's access log does
not print headers, so a token reaches a log only if a client puts one in a URL
(``?access_token=...``): the filter here blanks such values, bearer tokens and anything
shaped like our tokens (``cw_...``) in every message before it is written.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]

_SECRETS = (
    re.compile(r"(?i)((?:access_token|token|api_key|apikey|key|secret|password)=)[^&\s\"']+"),
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(r"()cw_[A-Za-z0-9_-]{16,}"),
)
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    """Blanks secrets in the message and in its arguments (uvicorn's access formatter
    reads the request line from the arguments, so they stay a tuple)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...}``; an access log line also carries
    client, method, path, http_version and status as fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == len(ACCESS_FIELDS):
            out.update(zip(ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def uvicorn_log_config(fmt: LogFormat, level: str = "info") -> dict[str, Any]:
    """A ``logging.config`` dict for uvicorn.Config(log_config=...): uvicorn's own lines
    and the API's (logger ``crisiswatch``) in the chosen format, redacted."""
    if fmt == "json":
        formatters: dict[str, Any] = {"default": {"()": JsonFormatter},
                                      "access": {"()": JsonFormatter}}
    else:
        formatters = {
            "default": {"()": "uvicorn.logging.DefaultFormatter",
                        "fmt": "%(levelprefix)s %(name)s: %(message)s"},
            "access": {"()": "uvicorn.logging.AccessFormatter",
                       "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" '
                              "%(status_code)s"}}
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "filters": ["redact"]}
    level = level.upper()
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": formatters,
        "handlers": {"default": {**handler, "formatter": "default"},
                     "access": {**handler, "formatter": "access"}},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "crisiswatch": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }


def json_handler() -> logging.Handler:
    """A stderr handler writing JSON lines, redacted (for the CLI's own logging)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    return handler
