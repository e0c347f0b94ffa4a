"""Event times as text, in the three forms the project writes them.

Three forms because three readers: a machine reading a field (``iso``: ISO 8601 with
the UTC offset, as precise as the number), a person reading a dead letter's reason
(``iso_z``: to the second, with the ``Z`` that mentions' own ``ts`` is written with,
and never raising: the time may be the very thing that is wrong), and a person reading
a summary or a message (``minute``).

>>> iso(1424685600.5), iso_z(1424685600.5), minute(1424685600.5)
('2015-02-23T10:00:00.500000+00:00', '2015-02-23T10:00:00Z', '2015-02-23 10:00 UTC')
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """For machines: a CSV report's cells, PagerDuty's ``timestamp``."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def iso_z(ts: float) -> str:
    """For a dead letter's reason; a time out of any calendar is written as its number.

    >>> iso_z(1e20)
    '1e+20'
    """
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") \
            .replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return repr(ts)


def minute(ts: float) -> str:
    """For people: a summary's peak, a message's respond-by, a digest's span."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
