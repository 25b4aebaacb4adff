"""Microversions, as Nova, Cinder and Placement negotiate them, one way for every service.

A client asks with `OpenStack-API-Version: compute 2.53` (or a service's legacy header, Nova's
`X-OpenStack-Nova-API-Version: 2.53`); `latest` means the maximum, no header the minimum. The
layer sits inside auth (keystonemiddleware answers 401 before the service parses anything) and
puts the negotiated version in the scope, where `RequestContext.microversion` reads it:

    VERSIONING = Versioning("compute", minimum=(2, 1), maximum=(2, 96),
                            legacy_header="X-OpenStack-Nova-API-Version")
    app = build_app(..., versioning=VERSIONING, unversioned=[r"/", r"/v2\\.1/?"])

    if ctx.microversion >= (2, 47): ...                       # a body that changed
    @router.get("/os-foo", dependencies=[available(minimum=(2, 26))], ...)   # a route that came

A malformed version is a 400, one outside the range a 406, a route asked for below or above
the versions it exists in a 404 (Nova's VersionNotFoundForAPIMethod); each in the service's
fault shape. Every versioned answer names its version and `Vary` on the headers that chose it,
so a cache never serves one version's body for another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from overcast.common import faults

__all__ = ["SCOPE_KEY", "MicroversionMiddleware", "Version", "Versioning", "available",
           "format_version", "parse_version"]

Version = tuple[int, int]

#: Where the negotiated version waits in the ASGI scope for the request context.
SCOPE_KEY = "overcast.microversion"
STANDARD_HEADER = "OpenStack-API-Version"

# As Nova's APIVersionRequest: no leading zeros, a minor of 0 allowed.
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def parse_version(text: str) -> Version:
    """`"2.53"` → (2, 53); ValueError for anything else."""
    m = _VERSION.match(text.strip())
    if not m:
        raise ValueError(text)
    return int(m.group(1)), int(m.group(2))


def format_version(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Versioning:
    """A service's microversion range and the header names it answers to."""

    service: str  # the word in OpenStack-API-Version: compute, volume, placement
    minimum: Version
    maximum: Version
    legacy_header: str | None = None
    # Each service's words for the two refusals (Nova's and Cinder's are the same).
    invalid_message: str = ("API Version String {version} is of invalid format. Must be of "
                            "format MajorNum.MinorNum.")
    unsupported_message: str = ("Version {version} is not supported by the API. Minimum is "
                                "{minimum} and maximum is {maximum}.")
    vary: str = field(init=False)

    def __post_init__(self) -> None:
        names = [STANDARD_HEADER] + ([self.legacy_header] if self.legacy_header else [])
        object.__setattr__(self, "vary", ", ".join(names))

    def requested(self, headers: dict[str, str]) -> str | None:
        """The version string the client asked for, or None. The standard header wins; it may
        name several services (`compute 2.1, volume 3.0`) and only ours counts."""
        standard = headers.get(STANDARD_HEADER.lower())
        if standard:
            for item in standard.split(","):
                words = item.split()
                if len(words) == 2 and words[0].lower() == self.service:
                    return words[1]
        if self.legacy_header:
            legacy = headers.get(self.legacy_header.lower())
            if legacy and legacy.strip():
                return legacy.strip()
        return None

    def negotiate(self, asked: str | None) -> Version:
        if asked is None:
            return self.minimum
        if asked.lower() == "latest":
            return self.maximum
        try:
            version = parse_version(asked)
        except ValueError:
            raise faults.BadRequest(self.invalid_message.format(version=asked)) from None
        if not self.minimum <= version <= self.maximum:
            raise faults.NotAcceptable(self.unsupported_message.format(
                version=asked, minimum=format_version(self.minimum),
                maximum=format_version(self.maximum)))
        return version

    def response_headers(self, version: Version) -> list[tuple[bytes, bytes]]:
        text = format_version(version)
        headers = [(STANDARD_HEADER.encode(), f"{self.service} {text}".encode()),
                   (b"vary", self.vary.encode())]
        if self.legacy_header:
            headers.append((self.legacy_header.encode(), text.encode()))
        return headers


class MicroversionMiddleware:
    """Negotiates the version of every request outside `unversioned` (version documents)."""

    def __init__(self, app: ASGIApp, versioning: Versioning, unversioned: Sequence[str] = ()):
        self.app = app
        self.versioning = versioning
        self.unversioned = [re.compile(p) for p in unversioned]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(p.fullmatch(scope["path"]) for p in self.unversioned):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        version = self.versioning.negotiate(self.versioning.requested(headers))
        scope[SCOPE_KEY] = version
        extra = self.versioning.response_headers(version)

        async def send_versioned(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_versioned)


def available(minimum: Version | None = None, maximum: Version | None = None) -> Any:
    """A route dependency: the route exists only from `minimum` up to `maximum` (404 outside,
    as Nova answers for a method a microversion does not have)."""

    async def check(request: Request) -> None:
        version: Version | None = request.scope.get(SCOPE_KEY)
        if version is None:
            return  # an unversioned service or path: nothing to restrict
        if (minimum and version < minimum) or (maximum and version > maximum):
            raise faults.NotFound(
                f"API version {format_version(version)} is not supported on this method.")

    return Depends(check)
