"""The signature between the network data plane's metadata proxy and Compute's metadata API.

The proxy adds `X-Instance-ID`, `X-Tenant-ID` and `X-Instance-ID-Signature` (the hex
HMAC-SHA256 of the instance id under a secret both sides share) to a guest's request, as
Neutron's metadata agent does for Nova; the metadata API answers only a request whose
signature matches. Both sides live in different services, so the code is here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

__all__ = ["SECRET_FILE", "shared_secret", "sign", "verify"]

#: Where the generated secret lives in the state directory when none is configured.
SECRET_FILE = "metadata-proxy-secret"


def sign(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, instance_id: str, signature: str) -> bool:
    """Constant-time comparison: a timing difference must not reveal a signature's prefix."""
    return secrets.compare_digest(sign(secret, instance_id).encode(),
                                  signature.encode(errors="replace"))


def shared_secret(state_dir: Path, configured: str) -> str:
    """The configured secret, else the one generated (once, 0600) into the state directory,
    so an all-in-one cloud signs without an operator choosing a secret."""
    if configured:
        return configured
    path = state_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    try:
        os.link(tmp, path)  # the first writer wins; a racing one reads the winner's secret
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
