"""Temporary URLs: a request signed with a key of the account or the container is let in
without a token, for one method, one object (or every object under a prefix), until a time.

    sig = HMAC(key, "METHOD\\nEXPIRES\\nPATH")            PATH = /v1/AUTH_x/c/o
    sig = HMAC(key, "METHOD\\nEXPIRES\\nprefix:/v1/AUTH_x/c/PREFIX")   with temp_url_prefix

The digest is told by the signature's length (SHA-1 40, SHA-256 64, SHA-512 128 hex digits)
or a `sha256:`/`sha512:` prefix with base64 (Swift's tempurl middleware)."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["DIGESTS", "METHODS", "TempUrl", "parse"]

DIGESTS = ("sha1", "sha256", "sha512")
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
_HEX = {40: "sha1", 64: "sha256", 128: "sha512"}


class TempUrl:
    """A request's temp URL parameters."""

    def __init__(self, sig: str, expires: int, prefix: str | None, filename: str | None,
                 inline: bool):
        self.sig = sig
        self.expires = expires
        self.prefix = prefix
        self.filename = filename
        self.inline = inline

    def valid(self, method: str, path: str, keys: list[str]) -> bool:
        if self.expires < time.time():
            return False
        digest, raw = _signature(self.sig)
        if digest is None or raw is None:
            return False
        account_path = path
        if self.prefix is not None:
            # /v1/a/c/o is allowed when o starts with the prefix
            parts = path.split("/", 4)
            if len(parts) < 5 or not parts[4].startswith(self.prefix):
                return False
            account_path = f"prefix:/{parts[1]}/{parts[2]}/{parts[3]}/{self.prefix}"
        methods = [method] + (["GET", "PUT"] if method == "HEAD" else [])
        for key in keys:
            for m in methods:
                body = f"{m}\n{self.expires}\n{account_path}".encode()
                mac = hmac.new(key.encode(), body, digest).digest()
                if hmac.compare_digest(mac, raw):
                    return True
        return False


def _signature(sig: str) -> tuple[str | None, bytes | None]:
    if ":" in sig:
        name, _, b64 = sig.partition(":")
        if name not in DIGESTS:
            return None, None
        try:
            return name, base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (binascii.Error, ValueError):
            return None, None
    hex_name = _HEX.get(len(sig))
    if hex_name is None:
        return None, None
    try:
        return hex_name, bytes.fromhex(sig)
    except ValueError:
        return None, None


def _expires(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return int(datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def parse(query: Mapping[str, str]) -> TempUrl | None:
    """The temp URL a query carries; None when it carries none or a malformed one."""
    sig = query.get("temp_url_sig")
    raw_expires = query.get("temp_url_expires")
    if not sig or not raw_expires:
        return None
    expires = _expires(raw_expires)
    if expires is None:
        return None
    return TempUrl(sig, expires, query.get("temp_url_prefix"), query.get("filename"),
                   "inline" in query)

