"""Microversions, negotiated one way for every service that has them (common/microversion.py):
the headers Nova, Cinder and Placement read, the refusals they answer, and the version named on
every versioned answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from overcast.common.app import Ctx, PublicRoute, build_app
from overcast.common.microversion import Versioning, available
from tests.functional.conftest import running

NOVA = Versioning("compute", minimum=(2, 1), maximum=(2, 96),
                  legacy_header="X-OpenStack-Nova-API-Version")


def _app(versioning: Versioning) -> FastAPI:
    router = APIRouter()

    @router.get("/")
    async def root() -> dict[str, str]:
        return {"versions": "unversioned"}

    @router.get("/v2.1/things")
    async def things(ctx: Ctx) -> dict[str, list[int]]:
        return {"seen": list(ctx.microversion)}

    @router.get("/v2.1/os-new", dependencies=[available(minimum=(2, 26), maximum=(2, 88))])
    async def new() -> dict[str, bool]:
        return {"new": True}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        yield {}

    return build_app(service="toy", service_type="compute", dialect="compute", routers=[router],
                     lifespan=lifespan, validator=lambda app: None,
                     public=[PublicRoute("*", "/", prefix=True)], versioning=versioning,
                     unversioned=[r"/"])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with running(_app(NOVA)) as client:
        yield client


@pytest.mark.parametrize(("headers", "seen"), [
    ({}, [2, 1]),                                                    # none: the minimum
    ({"OpenStack-API-Version": "compute 2.53"}, [2, 53]),
    ({"OpenStack-API-Version": "COMPUTE 2.53"}, [2, 53]),            # the word's case is free
    ({"OpenStack-API-Version": "volume 3.0, compute 2.60"}, [2, 60]),  # only ours counts
    ({"OpenStack-API-Version": "volume 3.0"}, [2, 1]),               # none of ours
    ({"X-OpenStack-Nova-API-Version": "2.10"}, [2, 10]),             # the legacy header
    ({"OpenStack-API-Version": "compute 2.20",                       # the standard one wins
      "X-OpenStack-Nova-API-Version": "2.10"}, [2, 20]),
    ({"OpenStack-API-Version": "compute latest"}, [2, 96]),
    ({"OpenStack-API-Version": "compute 2.96"}, [2, 96]),
])
async def test_the_version_asked_for_is_the_one_served(http: httpx.AsyncClient,
                                                       headers: dict[str, str],
                                                       seen: list[int]) -> None:
    r = await http.get("/v2.1/things", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"seen": seen}
    text = f"{seen[0]}.{seen[1]}"
    assert r.headers["OpenStack-API-Version"] == f"compute {text}"
    assert r.headers["X-OpenStack-Nova-API-Version"] == text
    assert r.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


@pytest.mark.parametrize("asked", ["2.01", "abc", "2", "2.1.1", "-2.5", "02.5"])
async def test_a_malformed_version_is_400(http: httpx.AsyncClient, asked: str) -> None:
    r = await http.get("/v2.1/things", headers={"OpenStack-API-Version": f"compute {asked}"})
    assert r.status_code == 400
    assert r.json() == {"badRequest": {"code": 400, "message": (
        f"API Version String {asked} is of invalid format. Must be of format "
        "MajorNum.MinorNum.")}}


@pytest.mark.parametrize("asked", ["2.97", "2.0", "1.9", "3.0"])
async def test_a_version_out_of_range_is_406(http: httpx.AsyncClient, asked: str) -> None:
    r = await http.get("/v2.1/things", headers={"X-OpenStack-Nova-API-Version": asked})
    assert r.status_code == 406
    assert r.json() == {"notAcceptable": {"code": 406, "message": (
        f"Version {asked} is not supported by the API. Minimum is 2.1 and maximum is 2.96.")}}


@pytest.mark.parametrize(("asked", "status"), [
    ("2.25", 404), ("2.26", 200), ("2.88", 200), ("2.89", 404), ("latest", 404)])
async def test_a_route_exists_only_at_its_versions(http: httpx.AsyncClient, asked: str,
                                                   status: int) -> None:
    r = await http.get("/v2.1/os-new", headers={"OpenStack-API-Version": f"compute {asked}"})
    assert r.status_code == status, r.text
    if status == 404:
        version = "2.96" if asked == "latest" else asked
        assert r.json() == {"itemNotFound": {"code": 404, "message": (
            f"API version {version} is not supported on this method.")}}
        assert r.headers["OpenStack-API-Version"] == f"compute {version}"


async def test_version_documents_are_not_versioned(http: httpx.AsyncClient) -> None:
    r = await http.get("/", headers={"OpenStack-API-Version": "compute 9.9"})
    assert r.status_code == 200
    assert "OpenStack-API-Version" not in r.headers


async def test_a_service_without_a_legacy_header_ignores_it() -> None:
    placement = Versioning("placement", minimum=(1, 0), maximum=(1, 39))
    async with running(_app(placement)) as http:
        r = await http.get("/v2.1/things", headers={"X-OpenStack-Nova-API-Version": "1.5"})
        assert r.json() == {"seen": [1, 0]}
        assert r.headers["Vary"] == "OpenStack-API-Version"
        assert "X-OpenStack-Nova-API-Version" not in r.headers
        r = await http.get("/v2.1/things", headers={"OpenStack-API-Version": "placement 1.39"})
        assert r.json() == {"seen": [1, 39]}
        assert r.headers["OpenStack-API-Version"] == "placement 1.39"
