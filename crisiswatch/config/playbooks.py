"""Reading ``configs/playbooks.yaml``: validated at start, errors with file, line and field.

A playbook file is edited by the people who run incidents, often under pressure, so a
mistake must say exactly where it is (``playbooks.yaml:83: playbooks[2] (noc-outage)
.when.min_severity: Input should be 'info', 'warning' or 'critical'``) and the worker
must refuse to start with it rather than silently route nothing.

Webhook URLs are operator configuration and may hold secrets (a Slack incoming-webhook
URL is one): ``${VAR}`` and ``${VAR:-default}`` are replaced from the environment. Every
destination host must be on ``webhooks.allowed_hosts``; the delivery worker checks
again before each request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crisiswatch.config.settings import ConfigError
from crisiswatch.detectors.types import Severity, SignalKind
from crisiswatch.response.playbooks import (
    Action,
    AuthorCondition,
    Conditions,
    Destination,
    Playbook,
    PlaybookSet,
)
from crisiswatch.worker.hosts import host_allowed

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Path_ = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Destination(_Strict):
    url: str = Field(min_length=1)
    format: Literal["json", "slack", "teams", "pagerduty", "email"] = "json"
    routing_key: str = Field("", description="pagerduty: the Events API v2 integration key")
    sender: str = Field("", alias="from", description="email: the From address")
    to: list[str] = Field([], description="email: the recipients")
    incident_url: str = Field("", description="a link to the incident for people; {id} "
                              "is replaced by its id")

    @model_validator(mode="after")
    def _needs(self) -> _Destination:
        if self.format == "pagerduty" and not self.routing_key:
            raise ValueError("format pagerduty needs routing_key (the integration key of "
                             "an Events API v2 integration; ${VAR} reads it from the "
                             "environment)")
        if self.format == "email" and not (self.sender and self.to):
            raise ValueError("format email needs from (an address) and to (a list)")
        return self


class _Author(_Strict):
    min_followers: int = Field(ge=1)
    complaint: bool = False


class _When(_Strict):
    brand: list[str] = []
    kinds: list[SignalKind] = []
    min_severity: Severity | None = None
    keywords: list[str] = []
    watchlist: list[str] = []
    author: _Author | None = None
    min_reach: int | None = Field(None, ge=0)
    min_negative_share: float | None = Field(None, ge=0, le=1)
    topic_terms: list[str] = []

    @field_validator("brand", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class _Action(_Strict):
    webhook: str | None = None
    assign: str | None = None
    staffing: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_word(cls, v: Any) -> Any:
        return {"staffing": True} if v == "staffing" else v

    @model_validator(mode="after")
    def _exactly_one(self) -> _Action:
        given = [k for k in ("webhook", "assign", "staffing") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an action is one of {webhook: DESTINATION}, {assign: TEAM} "
                             f"or staffing (got {', '.join(given) or 'none'})")
        return self

    def model(self) -> Action:
        if self.webhook:
            return Action("webhook", self.webhook)
        if self.assign:
            return Action("assign", self.assign)
        return Action("staffing")


class _Playbook(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$",
                      description="lower case letters, digits, '-', '_', '.'")
    description: str = ""
    auto: bool = True
    when: _When = _When()
    actions: list[_Action] = Field(min_length=1)
    respond_within_minutes: float | None = Field(None, gt=0)
    escalation: list[list[_Action]] = []

    @field_validator("escalation", mode="before")
    @classmethod
    def _steps(cls, v: Any) -> Any:
        """A step is one action or a list of them."""
        return [s if isinstance(s, list) else [s] for s in v] if isinstance(v, list) else v


class _File(_Strict):
    destinations: dict[str, _Destination] = {}
    playbooks: list[_Playbook] = []


def load_playbooks(path: Path | str, allowed_hosts: Sequence[str]) -> PlaybookSet:
    """Read, validate and resolve a playbook file, or raise ``ConfigError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such playbook file") from None
    try:
        data = yaml.safe_load(text) or {}
        lines = _lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{at}: not valid YAML: {getattr(e, 'problem', None) or e}"
                          ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping with `destinations` "
                          "and `playbooks`")
    problems: list[tuple[Path_, str]] = []
    try:
        parsed = _File(**data)
    except ValidationError as e:
        problems = [(tuple(err["loc"]), err["msg"]) for err in e.errors()]
        parsed = None
    if parsed is not None:
        problems = _cross_check(parsed, allowed_hosts)
    if problems:
        raise ConfigError("\n".join(_where(path, lines, data, loc, msg) for loc, msg in problems))
    assert parsed is not None
    return _build(parsed, str(path))


def _lines(node: yaml.Node | None, at: Path_ = ()) -> dict[Path_, int]:
    """Path of every key and item in the document -> its line (1-based)."""
    out: dict[Path_, int] = {}
    if node is None:
        return out
    out[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*at, key.value)
            out.update(_lines(value, here))
            out[here] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.update(_lines(item, (*at, i)))
    return out


def _where(path: Path, lines: dict[Path_, int], data: dict[str, Any], loc: Path_,
           msg: str) -> str:
    """``file:line: field: message`` with the nearest line the document has."""
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
    field = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            field += f"[{part}]"
            if loc[:i] == ("playbooks",):
                name = _name(data, part)
                field += f" ({name})" if name else ""
        else:
            field += f".{part}" if field else str(part)
    return f"{path}:{line}: {field or 'file'}: {msg}"


def _name(data: dict[str, Any], i: int) -> str | None:
    try:
        name = data["playbooks"][i]["name"]
    except (KeyError, IndexError, TypeError):
        return None
    return name if isinstance(name, str) else None


def expand_env(url: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` from the environment; KeyError names a missing one."""

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            if m.group(2) is None:
                raise KeyError(m.group(1))
            return m.group(2)
        return value

    return ENV_REF.sub(sub, url)


def _cross_check(f: _File, allowed_hosts: Sequence[str]) -> list[tuple[Path_, str]]:
    problems: list[tuple[Path_, str]] = []
    for name, dest in f.destinations.items():
        try:
            url = expand_env(dest.url)
        except KeyError as e:
            problems.append((("destinations", name, "url"),
                             f"environment variable {e.args[0]} is not set (use "
                             f"${{{e.args[0]}:-default}} to give a default)"))
            continue
        if not host_allowed(url, allowed_hosts):
            host = urlsplit(url).hostname or url
            problems.append((("destinations", name, "url"),
                             f"{host!r} is not an "
                             f"{'smtp(s)' if dest.format == 'email' else 'http(s)'} host on "
                             f"webhooks.allowed_hosts ({', '.join(allowed_hosts) or 'empty'})"))
        elif (urlsplit(url).scheme in ("smtp", "smtps")) != (dest.format == "email"):
            problems.append((("destinations", name, "url"),
                             "format email takes an smtp:// or smtps:// url, every other "
                             "format an http(s) one"))
        try:
            dest.routing_key = expand_env(dest.routing_key)
        except KeyError as e:
            problems.append((("destinations", name, "routing_key"),
                             f"environment variable {e.args[0]} is not set"))
        dest.url = url
    seen: dict[str, int] = {}
    for i, pb in enumerate(f.playbooks):
        if pb.name in seen:
            problems.append((("playbooks", i, "name"),
                             f"{pb.name!r} is also the name of playbooks[{seen[pb.name]}]"))
        seen.setdefault(pb.name, i)
        steps = [("actions", pb.actions)] + [(("escalation", s), step)
                                             for s, step in enumerate(pb.escalation)]
        for where, actions in steps:
            for j, a in enumerate(actions):
                if a.webhook and a.webhook not in f.destinations:
                    at = (where,) if isinstance(where, str) else where
                    problems.append((("playbooks", i, *at, j, "webhook"),
                                     f"no destination {a.webhook!r} (known: "
                                     f"{', '.join(f.destinations) or 'none'})"))
    return problems


def _build(f: _File, source: str) -> PlaybookSet:
    destinations = {name: Destination(name, d.url, d.format, d.routing_key, d.sender,
                                      tuple(d.to), d.incident_url)
                    for name, d in f.destinations.items()}
    playbooks = []
    for pb in f.playbooks:
        w = pb.when
        when = Conditions(
            brands=tuple(w.brand), kinds=tuple(w.kinds), min_severity=w.min_severity,
            keywords=tuple(w.keywords), watchlist=tuple(w.watchlist),
            author=AuthorCondition(w.author.min_followers, w.author.complaint)
            if w.author else None,
            min_reach=w.min_reach, min_negative_share=w.min_negative_share,
            topic_terms=tuple(w.topic_terms))
        playbooks.append(Playbook(
            name=pb.name, description=pb.description.strip(), when=when, auto=pb.auto,
            actions=tuple(a.model() for a in pb.actions),
            respond_within_minutes=pb.respond_within_minutes,
            escalation=tuple(tuple(a.model() for a in step) for step in pb.escalation)))
    return PlaybookSet(tuple(playbooks), destinations, source)
