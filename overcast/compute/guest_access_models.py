"""Tables of what reaches a guest from outside its disk (migration 0004): the password a
guest posts to the metadata service (Nova keeps it in system_metadata password_0..3), and
the console tokens (Nova's console_auth_tokens: only the token's SHA-256 is stored, the token
itself is in the URL the user was given)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.common.clock import utcnow
from overcast.common.db import Timestamp
from overcast.compute.models import Base

__all__ = ["ConsoleAuthToken", "InstancePassword"]


class InstancePassword(Base):
    """The guest's encrypted admin password (os-server-password), set once by the guest."""

    __tablename__ = "instance_passwords"

    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    password: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ConsoleAuthToken(Base):
    __tablename__ = "console_auth_tokens"
    __table_args__ = (Index("ix_console_auth_tokens_instance_uuid", "instance_uuid"),
                      Index("ix_console_auth_tokens_expires", "expires"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    #: A path on the compute host (QEMU's VNC socket) the proxy connects to instead of a port.
    internal_access_path: Mapped[str | None] = mapped_column(String(512))
    #: The compute host that holds the console (the proxy asks its agent).
    compute_host: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(String(36))
    access_url_base: Mapped[str] = mapped_column(String(255))
    #: Seconds since the epoch after which the token is refused.
    expires: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
