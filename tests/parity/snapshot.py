"""Snapshot parity: record what the real OpenStack service answers, compare Overcast with it.

The idea and the file layout are LocalStack's (`localstack-snapshot`): a test drives the API and
calls `snapshot.match("create", response)` for each response that matters; with
`SNAPSHOT_UPDATE=1` against the real service the transformed responses are written to
`test_x.snapshot.json` beside the test, keyed by test id; a normal run transforms Overcast's
responses the same way and compares them with the recording. Written here instead of using
that package because parity needs things it has not: a reason on every declared difference
(enforced), a declared difference that has gone stale fails (so the list of differences stays
the truth), a "value only" declaration that still checks the JSON type, and HTTP responses
(status, chosen headers, body) rather than boto dicts; and it needs neither deepdiff nor
jsonpath-ng.

What a recorded entry holds, for each `match` key:
    request:  method, path (with query), Accept/Content-Type sent, JSON body sent
    status:   the status code
    headers:  the headers of COMPARED_HEADERS that the response has (lower-case names)
    body:     the JSON body, or the text of a non-JSON body, or None when empty

Transformers run over the whole test's state in match order, on both sides alike:
* ids (uuid-shaped strings anywhere; any string of 16+ characters under a key `id`, `*_id` or
  `*_ids`; tokens from `X-Subject-Token`; application credential secrets) become numbered
  placeholders `<kind:N>`, numbered per kind in order of first appearance, and every other
  occurrence of the same value (inside URLs, Location headers, request paths, messages) becomes
  the same placeholder, so "the same id twice" is still compared; request ids (each answer has
  its own) become `<request-id>` when they have the `req-<uuid>` format;
* the target's secrets (the admin password) become `<admin-password>`;
* timestamps become `<datetime:dddd-dd-ddTdd:dd:dd.ddddddZ>`: the value goes, its format stays;
* each service's base URL becomes `<identity-url>` / `<image-url>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "COMPARED_HEADERS",
    "Difference",
    "Known",
    "Snapshot",
    "compare",
    "path_matches",
    "transform",
]

# Headers whose value (after transformation) is compared; any other header is ignored.
COMPARED_HEADERS = (
    "content-type",
    "location",
    "www-authenticate",
    "x-openstack-request-id",
    "x-subject-token",
    "openstack-image-import-methods",
    "openstack-image-store-ids",
    "content-md5",
    "content-range",
    "accept-ranges",
    "allow",
)
# Request headers kept in the recording (they change what the server answers).
REQUEST_HEADERS = ("accept", "content-type", "openstack-api-version")

_UUID = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Keys whose values are data the test chose (hashes of the bytes it uploaded): compared as they are.
_LITERAL_KEYS = frozenset({"checksum", "os_hash_value", "content-md5"})
# Ids the tests use for things that do not exist: the same on every target, kept as they are so
# that they do not shift the numbering of the ids the servers made.
NO_SUCH_HEX = "f00dfeed" * 4
NO_SUCH_UUID = "0badc0de-0000-4000-8000-00000000cafe"
_KEEP = frozenset({NO_SUCH_HEX, NO_SUCH_UUID})
# Keys whose values are secrets the server generated.
_SECRET_KEYS = frozenset({"secret"})


# ------------------------------------------------------------------------------ transformation


@dataclass
class _Refs:
    """value -> placeholder, numbered per kind in order of first appearance."""

    names: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, value: str, kind: str) -> None:
        if value in self.names or value in _KEEP:
            return
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        self.names[value] = f"<{kind}:{n}>"


def _kind_of(key: str, parent: str) -> str:
    """A readable placeholder kind: `project_id` -> project-id; `id` under `project` -> project-id."""
    if key == "id":
        base = parent.rstrip("s").replace("_", "-") if parent and not parent.isdigit() else ""
        return f"{base}-id" if base and base not in ("body", "request") else "id"
    if key.endswith("_ids"):
        key = key[:-1]
    return key.replace("_", "-")


def _collect(node: Any, refs: _Refs, key: str = "", parent: str = "") -> None:
    if isinstance(node, dict):
        for k in sorted(node):
            v = node[k]
            if k in _LITERAL_KEYS:
                continue
            _collect(v, refs, k, key)
    elif isinstance(node, list):
        for v in node:
            _collect(v, refs, key, parent)
    elif isinstance(node, str):
        if key == "x-subject-token" or (key in _SECRET_KEYS and len(node) >= 16):
            refs.add(node, "token" if key == "x-subject-token" else "secret")
        elif key == "x-openstack-request-id" or _REQUEST_ID.match(node):
            # every answer has its own: numbering them would only let one missing header shift
            # every later number; the placeholder keeps whether the id has Keystone's format
            fmt = "" if _REQUEST_ID.match(node) else ":other-format"
            refs.names.setdefault(node, f"<request-id{fmt}>")
        elif _UUID.match(node) or (
            (key == "id" or key.endswith(("_id", "_ids")) or key == "audit_ids") and len(node) >= 16
        ):
            refs.add(node, _kind_of(key, parent))


_UUID_IN = re.compile(
    r"(?<![0-9a-f])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})(?![0-9a-f])"
)


def _collect_embedded(node: Any, refs: _Refs) -> None:
    """uuid-shaped ids inside longer strings (request paths, messages) that no response named."""
    if isinstance(node, dict):
        for k in sorted(node):
            if k not in _LITERAL_KEYS:
                _collect_embedded(node[k], refs)
    elif isinstance(node, list):
        for v in node:
            _collect_embedded(v, refs)
    elif isinstance(node, str):
        for m in _UUID_IN.finditer(node):
            refs.add(m.group(0), "id")


def _format_of(ts: str) -> str:
    return "<datetime:" + re.sub(r"\d", "d", ts) + ">"


def _replace(node: Any, subs: list[tuple[str, str]], key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _replace(v, subs, k) for k, v in sorted(node.items())}
    if isinstance(node, list):
        return [_replace(v, subs, key) for v in node]
    if isinstance(node, str):
        if key in _LITERAL_KEYS:
            return node
        if _DATETIME.match(node):
            return _format_of(node)
        for old, new in subs:
            if old in node:
                node = node.replace(old, new)
        return node
    return node


def transform(state: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    """The whole test's state (match key -> entry, in match order) with placeholders.

    `urls` maps a base URL (http://127.0.0.1:5000) to its placeholder name (identity-url).
    """
    refs = _Refs()
    for entry in state.values():
        _collect(entry, refs)
    for entry in state.values():
        _collect_embedded(entry, refs)
    # longest first, so that a value containing another is replaced whole
    subs = sorted(((v, p) for v, p in refs.names.items()), key=lambda s: -len(s[0]))
    subs = [(u, f"<{name}>") for u, name in sorted(urls.items(), key=lambda s: -len(s[0]))] + subs
    return {key: _replace(entry, subs) for key, entry in state.items()}


# Lists whose order neither API specifies, sorted on both sides by this field before comparison
# (token roles come in the order the role graph was walked; Glance lists its versions in the
# order of a dict it builds).
UNORDERED = {"roles": "name", "catalog": "type", "endpoints": "interface", "versions": "id"}
#: Lists of lists of strings whose inner order is a Python set's in Keystone (arbitrary):
#: each inner list is sorted on both sides.
UNORDERED_SETS = frozenset({"required_auth_methods"})


def _natural(v: Any) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(v)))


def _sort_unordered(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _sort_unordered(v, k) for k, v in node.items()}
    if isinstance(node, list):
        items = [_sort_unordered(v) for v in node]
        if key in UNORDERED_SETS:
            return [sorted(i) if isinstance(i, list) else i for i in items]
        field_ = UNORDERED.get(key)
        if field_ and all(isinstance(i, dict) for i in items):
            items.sort(key=lambda i: _natural(i.get(field_)))
        return items
    return node


def _decode_body(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    ctype = resp.headers.get("content-type", "")
    if "json" in ctype:
        try:
            return resp.json()
        except ValueError:
            pass
    try:
        return resp.content.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(resp.content)} bytes, not UTF-8>"


def entry_of(resp: httpx.Response) -> dict[str, Any]:
    """What is recorded and compared of one HTTP exchange."""
    req = resp.request
    request: dict[str, Any] = {"method": req.method, "path": req.url.raw_path.decode("ascii")}
    sent = {h: req.headers[h] for h in REQUEST_HEADERS if h in req.headers}
    if sent:
        request["headers"] = sent
    if req.content:
        try:
            request["body"] = json.loads(req.content)
        except ValueError:
            request["body"] = f"<{len(req.content)} bytes>"
    return {
        "request": request,
        "status": resp.status_code,
        "headers": {h: resp.headers[h] for h in COMPARED_HEADERS if h in resp.headers},
        "body": _sort_unordered(_decode_body(resp)),
    }


# ------------------------------------------------------------------------------ paths


def _parse_path(path: str) -> list[str]:
    """`$.create.body.project..name[0]` -> ["create", "body", "project", "..", "name", "0"]."""
    if not path.startswith("$"):
        raise ValueError(f"a JSON path starts with $: {path!r}")
    rest = path[1:].replace("[", ".").replace("]", "")
    out: list[str] = []
    for i, part in enumerate(rest.split(".")):
        if part == "":
            if i > 0 and (not out or out[-1] != ".."):
                out.append("..")
            continue
        out.append(part)
    return out


def path_matches(pattern: str, path: Sequence[str]) -> bool:
    """Whether the location `path` (segments) is `pattern` or lies under it.

    `*` matches one segment, `..` any number of segments (JSONPath's recursive descent).
    """
    pat = _parse_path(pattern)

    def m(i: int, j: int) -> bool:
        if i == len(pat):
            return True  # everything under a matched node is matched too
        if pat[i] == "..":
            return any(m(i + 1, k) for k in range(j, len(path) + 1))
        if j == len(path):
            return False
        return (pat[i] == "*" or pat[i] == path[j]) and m(i + 1, j + 1)

    return m(0, 0)


def fmt_path(path: Sequence[str]) -> str:
    return "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path)


# ------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Known:
    """A declared difference between Overcast and the recording, on one JSON path.

    `value_only`: only the value may differ; the key must be there on both sides with the same
    JSON type (the shape is still checked).
    """

    path: str
    reason: str
    value_only: bool = False


@dataclass
class Difference:
    path: tuple[str, ...]
    kind: str  # missing (recorded, not ours), extra (ours, not recorded), type, value
    recorded: Any
    ours: Any

    def __str__(self) -> str:
        def short(v: Any) -> str:
            s = json.dumps(v, sort_keys=True)
            return s if len(s) <= 300 else s[:297] + "..."

        if self.kind == "missing":
            return f"{fmt_path(self.path)}: missing; recorded {short(self.recorded)}"
        if self.kind == "extra":
            return f"{fmt_path(self.path)}: not recorded; ours {short(self.ours)}"
        return (f"{fmt_path(self.path)}: {self.kind} differs; recorded {short(self.recorded)}, "
                f"ours {short(self.ours)}")


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def compare(recorded: Any, ours: Any, path: tuple[str, ...] = ()) -> Iterator[Difference]:
    """Every difference of keys, JSON types and values, recursively."""
    tr, to = _jtype(recorded), _jtype(ours)
    if tr != to:
        yield Difference(path, "type", recorded, ours)
    elif tr == "object":
        for k in sorted(set(recorded) | set(ours)):
            if k not in ours:
                yield Difference((*path, k), "missing", recorded[k], None)
            elif k not in recorded:
                yield Difference((*path, k), "extra", None, ours[k])
            else:
                yield from compare(recorded[k], ours[k], (*path, k))
    elif tr == "array":
        for i in range(max(len(recorded), len(ours))):
            if i >= len(ours):
                yield Difference((*path, str(i)), "missing", recorded[i], None)
            elif i >= len(recorded):
                yield Difference((*path, str(i)), "extra", None, ours[i])
            else:
                yield from compare(recorded[i], ours[i], (*path, str(i)))
    elif recorded != ours:
        yield Difference(path, "value", recorded, ours)


def check(recorded: dict[str, Any], ours: dict[str, Any], known: Sequence[Known]) -> list[str]:
    """Problems: differences no declaration covers, and declarations that cover nothing."""
    problems: list[str] = []
    used: set[Known] = set()
    for d in compare(recorded, ours):
        covering = [k for k in known if path_matches(k.path, d.path)]
        ok = [k for k in covering if not k.value_only or d.kind == "value"]
        used.update(covering)  # a declaration of the wrong kind is reported below, not as stale
        if not ok:
            why = " (declared value_only, but this is a difference of shape)" if covering else ""
            problems.append(f"{d}{why}")
    for k in known:
        if k not in used:
            problems.append(
                f"declared difference {k.path} ({k.reason!r}) no longer differs: remove the declaration"
            )
    return problems


# ------------------------------------------------------------------------------ the session


class SnapshotMismatch(AssertionError):
    pass


class Snapshot:
    """One test's snapshot: `match` collects, `finish` records or compares.

    `update`: write the recording (transformed) instead of comparing. `known`: declared
    differences, applied only when comparing Overcast (a run against the real service compares
    everything, which re-checks the recording itself).
    """

    def __init__(self, file: Path, test_id: str, *, update: bool, urls: dict[str, str],
                 known: Sequence[Known] = (), recorded_against: dict[str, str] | None = None):
        self.file = file
        self.test_id = test_id
        self.update = update
        self.urls = urls
        self.known = list(known)
        self.recorded_against = recorded_against or {}
        self.observed: dict[str, Any] = {}

    def match(self, key: str, resp: httpx.Response,
              normalize: Callable[[Any], Any] | None = None) -> httpx.Response:
        """Keep `resp` under `key`; `normalize` rewrites its parsed body first (e.g. sorts a list
        whose order the API leaves unspecified)."""
        if key in self.observed:
            raise ValueError(f"snapshot key {key!r} used twice in {self.test_id}")
        entry = entry_of(resp)
        if normalize is not None:
            entry["body"] = normalize(entry["body"])
        self.observed[key] = entry
        return resp

    def _load(self) -> dict[str, Any]:
        if not self.file.exists():
            return {}
        data: dict[str, Any] = json.loads(self.file.read_text())
        return data

    def recorded(self) -> dict[str, Any] | None:
        entry = self._load().get(self.test_id)
        return None if entry is None else entry["recorded-content"]

    def finish(self) -> None:
        ours = transform(self.observed, self.urls)
        if self.update:
            data = self._load()
            data[self.test_id] = {
                "recorded-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "recorded-against": self.recorded_against,
                "recorded-content": ours,
            }
            self.file.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")
            return
        recorded = self.recorded()
        if recorded is None:
            raise SnapshotMismatch(
                f"nothing recorded for {self.test_id} in {self.file.name}: record it against the real "
                "service (python tests/parity/record.py)"
            )
        problems = check(recorded, ours, self.known)
        if problems:
            raise SnapshotMismatch(
                f"{self.test_id}: Overcast's answers differ from the recording "
                f"({self.file.name}):\n  " + "\n  ".join(problems)
            )
