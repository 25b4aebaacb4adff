"""Account and container listings in Swift's three formats (plain text, JSON, XML), and the
query parameters they take."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from overcast.common import faults
from overcast.object.constraints import LIMITS

__all__ = ["listing_format", "listing_query", "render_listing", "render_node_listing"]

_TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8",
          "plain": "text/plain; charset=utf-8"}


def listing_format(query: Mapping[str, str], accept: str | None) -> str:
    """json, xml or plain: ?format= first, then the Accept header (Swift's get_listing_content_type)."""
    fmt = (query.get("format") or "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    if fmt in ("text/xml", "application/xml"):
        return "xml"
    if fmt == "application/json":
        return "json"
    if accept:
        a = accept.lower()
        for part in a.split(","):
            media = part.split(";")[0].strip()
            if media == "application/json":
                return "json"
            if media in ("application/xml", "text/xml"):
                return "xml"
            if media in ("text/plain", "*/*", "text/*"):
                return "plain"
        if "json" not in a and "xml" not in a and "plain" not in a and "*" not in a:
            raise faults.NotAcceptable()
    return "plain"


def listing_query(query: Mapping[str, str], kind: str) -> str:
    """The node's query for a listing request; 400/412 for bad parameters as Swift."""
    out: dict[str, str] = {}
    maximum = LIMITS[f"{kind}_listing_limit"]
    raw_limit = query.get("limit")
    limit = maximum
    if raw_limit is not None and raw_limit != "":
        try:
            limit = int(raw_limit)
        except ValueError:
            raise faults.BadRequest("Value of limit must be a positive integer") from None
        if limit < 0:
            raise faults.BadRequest("Value of limit must be a positive integer")
        if limit > maximum:
            from overcast.object.errors import PreconditionFailed

            raise PreconditionFailed(f"Maximum limit is {maximum}")
    out["limit"] = str(limit)
    for key in ("marker", "end_marker", "prefix", "delimiter"):
        if query.get(key):
            out[key] = query[key]
    if query.get("path") is not None:
        # ?path=P lists the objects directly "in" pseudo-directory P
        path = query["path"]
        out["prefix"] = path.rstrip("/") + "/" if path else ""
        out["delimiter"] = "/"
    delim = out.get("delimiter")
    if delim and len(delim) > 1:
        raise faults.BadRequest("Bad delimiter")
    if (query.get("reverse") or "").lower() in ("1", "true", "yes", "on", "t", "y"):
        out["reverse"] = "1"
    return urlencode(out)


def render_listing(kind: str, name: str, rows: list[dict[str, Any]], fmt: str
                   ) -> tuple[bytes, str]:
    if fmt == "json":
        return json.dumps(rows).encode(), _TYPES["json"]
    if fmt == "xml":
        tag = "object" if kind == "container" else "container"
        out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{kind} name={quoteattr(name)}>"]
        for row in rows:
            if "subdir" in row:
                out.append(f"<subdir name={quoteattr(row['subdir'])}><name>"
                           f"{escape(row['subdir'])}</name></subdir>")
                continue
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in row.items())
            out.append(f"<{tag}>{fields}</{tag}>")
        out.append(f"</{kind}>")
        return "\n".join(out).encode(), _TYPES["xml"]
    text = "".join(f"{row.get('name', row.get('subdir'))}\n" for row in rows)
    return text.encode(), _TYPES["plain"]


def render_node_listing(kind: str, name: str, raw: bytes, fmt: str) -> tuple[bytes, str, bool]:
    """A storage node's JSON listing in the format asked for, and whether it is empty. JSON
    goes out as the node wrote it (the same `json.dumps` of the same rows): a page of 10,000
    objects is not decoded and encoded again."""
    if fmt == "json":
        return raw, _TYPES["json"], raw.strip() == b"[]"
    rows = json.loads(raw)
    body, ctype = render_listing(kind, name, rows, fmt)
    return body, ctype, not rows
