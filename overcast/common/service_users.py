"""The cloud's own service users (the install guides' `nova`, `placement`, ...), in project
`service` of domain Default, and where their passwords live.

Bootstrap creates each user with a generated password kept in STATE/service-passwords/NAME
(0600); a service that calls another (Nova's scheduler asking Placement) reads it there, logs
in as that user and acts with its roles (`admin` as the guides grant, and `service`, which the
secure-RBAC defaults of Placement, Nova and Neutron name for service-to-service calls).
Another service adds its user to SERVICE_USERS; nothing else changes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["SERVICE_PROJECT", "SERVICE_ROLES", "SERVICE_USERS", "password", "password_path"]

#: Service (overcast/services.py key, or the compute API to come) -> its user's name.
SERVICE_USERS: dict[str, str] = {
    "placement": "placement",
    "compute": "nova",
    # The image service's swift store keeps images in this user's account (glance_store's
    # single-tenant mode).
    "image": "glance",
    "volume": "cinder",
}
SERVICE_PROJECT = "service"
SERVICE_ROLES = ("admin", "service")


def password_path(state_dir: Path, user: str) -> Path:
    return state_dir / "service-passwords" / user


def password(state_dir: Path, user: str, *, create: bool = False) -> str:
    """The user's password; with `create`, one is generated (and kept, 0600) when there is none.
    FileNotFoundError when there is none and `create` is False."""
    path = password_path(state_dir, user)
    if path.exists() or not create:
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(24)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
    return value
