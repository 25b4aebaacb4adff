"""A route declares the policy rule it enforces, and the declaration is checked on every request:
checking an undeclared rule is a bug (500), and so is a success that never checked the declared
rule (raised under OVERCAST_STRICT_POLICY=1, which the test suite sets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import APIRouter, FastAPI

from overcast.common.api import POLICY_KEY, policy
from overcast.common.app import Ctx, UncheckedPolicy, build_app
from overcast.common.policy import Credentials, Enforcer, Rule
from tests.functional.conftest import running

RULES = [Rule("toy:read", "role:reader"), Rule("toy:write", "role:admin")]


def _toy() -> FastAPI:
    router = APIRouter()

    @router.get("/good", **policy("toy:read"))
    async def good(ctx: Ctx) -> dict[str, bool]:
        ctx.enforce("toy:read")
        return {"ok": True}

    @router.get("/sloppy", **policy("toy:read"))
    async def sloppy(ctx: Ctx) -> dict[str, bool]:
        return {"ok": True}  # forgot to enforce

    @router.get("/sneaky", **policy("toy:read"))
    async def sneaky(ctx: Ctx) -> dict[str, bool]:
        ctx.enforce("toy:read")
        return {"admin": ctx.can("toy:write")}  # a rule it does not declare

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        yield {"enforcer": Enforcer(RULES)}

    class Reader:
        async def validate(self, token: str) -> Credentials:
            return Credentials(user_id="u", project_id="p", roles=frozenset({"reader"}))

        def auth_uri(self) -> str:
            return "http://identity/v3"

    return build_app(service="toy", service_type="toy", dialect="compute", routers=[router],
                     lifespan=lifespan, validator=lambda app: Reader())


async def test_declarations_are_enforced_on_every_request() -> None:
    app = _toy()
    assert app.openapi()["paths"]["/good"]["get"][POLICY_KEY] == ["toy:read"]
    async with running(app) as http:
        token = {"X-Auth-Token": "t"}
        assert (await http.get("/good", headers=token)).json() == {"ok": True}
        with pytest.raises(UncheckedPolicy, match="GET /sloppy answered 200 without checking"):
            await http.get("/sloppy", headers=token)
        r = await http.get("/sneaky", headers=token)
        assert r.status_code == 500
        assert r.json() == {"computeFault": {"code": 500,
                                             "message": "An unexpected error occurred."}}
