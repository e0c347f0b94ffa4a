"""The host allowlist of webhook and e-mail destinations: checked when the playbook file
is read (``crisiswatch.config.playbooks``) and again before every request (a URL from
the environment, or a redirect, must not reach a host nobody listed)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from urllib.parse import urlsplit

SCHEMES = ("http", "https", "smtp", "smtps")  # smtp(s): e-mail destinations
DEFAULT_PORTS = {"http": 80, "https": 443, "smtp": 25, "smtps": 465}
# Ports of services that listen inside a network and speak a protocol that a crafted
# HTTP request can talk to (Redis takes a POST body's lines as commands): refused to
# http(s) destinations unless an allowlist entry names the port itself ('10.0.0.7:6379').
INTERNAL_PORTS = frozenset({
    22, 23, 25, 53, 110, 111, 135, 139, 143, 445, 2049, 2375, 2376, 2379, 2380, 3306,
    4369, 5432, 5672, 5984, 6379, 6380, 6443, 8500, 9042, 9092, 9200, 9300, 10250, 11211,
    15672, 26379, 27017})


def host_allowed(url: str, allowed_hosts: Sequence[str]) -> bool:
    """http(s) or smtp(s) to a host on the list (exact, or a '*.example.com' glob); http(s)
    on any port but the ``INTERNAL_PORTS``; an entry ``host:port`` allows that port only;
    nothing else."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in SCHEMES or not host:
        return False
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:  # not a port number
        return False
    for entry in allowed_hosts:
        pattern, colon, pinned = entry.lower().rpartition(":")
        if not colon or not pinned.isdigit() or (":" in pattern
                                                 and not pattern.endswith("]")):  # bare IPv6
            pattern, pinned = entry.lower(), ""
        if not fnmatch.fnmatchcase(host, pattern.strip("[]")):
            continue
        smtp = parts.scheme.startswith("smtp")  # mail ports are what e-mail goes to
        if (int(pinned) == port) if pinned else (smtp or port not in INTERNAL_PORTS):
            return True
    return False
