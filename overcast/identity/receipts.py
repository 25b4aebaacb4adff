"""Auth receipts: proof of the factors a multi-factor login has passed so far.

When every method in a request succeeded but the user's `multi_factor_auth_rules` want more,
Keystone answers 401 with an `Openstack-Auth-Receipt` header and a body naming the user, the
methods passed and the rules that would complete the login (keystone/receipt/handlers.py);
the client sends the receipt back with the missing factor. A receipt is a Fernet payload under
the token keys, as Keystone's, with a payload version no token has, so one can never be used
as the other. It lasts `[identity] receipt_expiration` seconds (Keystone's 300).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet

from overcast.common import faults
from overcast.identity.models import Domain, User

__all__ = ["RECEIPT_HEADER", "Receipt", "ReceiptRequired", "decode", "encode", "required_rules"]

RECEIPT_HEADER = "Openstack-Auth-Receipt"
_RECEIPT_VERSION = 100  # tokens are version 1 (fernet.py): a receipt never decodes as one


@dataclass(frozen=True)
class Receipt:
    user_id: str
    methods: tuple[str, ...]
    expires_at: float
    issued_at: float


@dataclass
class ReceiptRequired:
    """The answer to a login that passed some factors but not enough: 401, header, body."""

    receipt: str
    body: dict[str, Any]


def encode(fernet: MultiFernet, r: Receipt) -> str:
    raw = json.dumps([_RECEIPT_VERSION, r.user_id, list(r.methods), r.expires_at, r.issued_at],
                     separators=(",", ":")).encode()
    return fernet.encrypt(raw).decode().rstrip("=")


def decode(fernet: MultiFernet, receipt: str) -> Receipt:
    """A receipt we issued that has not expired; Keystone's 401 otherwise."""
    try:
        raw = fernet.decrypt((receipt + "=" * (-len(receipt) % 4)).encode())
        version, user_id, methods, expires_at, issued_at = json.loads(raw)
    except (InvalidToken, ValueError, TypeError) as e:
        raise _not_found(receipt) from e
    if version != _RECEIPT_VERSION or expires_at <= time.time():
        raise _not_found(receipt)
    return Receipt(user_id, tuple(methods), expires_at, issued_at)


def _not_found(receipt: str) -> faults.Unauthorized:
    # Keystone's ReceiptNotFound echoes the whole receipt; its first characters say which.
    return faults.Unauthorized(f"Could not find auth receipt: {receipt[:8]}...")


def required_rules(rules: Sequence[Sequence[str]], methods: set[str],
                   active: set[str]) -> list[list[str]] | None:
    """None when `methods` satisfy the rules (or no rule names a method this cloud has, which
    Keystone lets pass so that a bad rule cannot lock a user out); otherwise the rules a
    receipt lists: those that share a method with what was passed, restricted to the methods
    this cloud has (Keystone's UserMFARulesValidator and ReceiptModel.required_methods)."""
    usable = [set(r) & active for r in rules]
    usable = [r for r in usable if r]
    if not usable or any(methods >= r for r in usable):
        return None
    return [sorted(r) for r in usable if r & methods]


def receipt_body(r: Receipt, user: User, domain: Domain, required: list[list[str]],
                 iso: Any) -> dict[str, Any]:
    """Keystone's receipt response body."""
    return {"receipt": {"methods": list(r.methods),
                        "user": {"id": user.id, "name": user.name,
                                 "domain": {"id": domain.id, "name": domain.name}},
                        "expires_at": iso(r.expires_at), "issued_at": iso(r.issued_at)},
            "required_auth_methods": required}
