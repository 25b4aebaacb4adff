"""Schemathesis against the OpenAPI documents Identity, Image and Block Storage serve, as two
personas.

Every operation of `/openapi-identity.json`, `/openapi-image.json` and `/openapi-volume.json`
gets generated requests,
valid and invalid ("all" generation modes), as the admin and as `member` of another project,
each operation on a fresh copy of a seeded cloud (tests/functional/openapi_cloud.py). Path
parameters and query filters of the same name are half the time ids that exist, and token
validation gets tokens that exist as X-Subject-Token, so operations get past 404 to their work.

What counts as a failure (schemathesis checks, chosen from its list):
- not_a_server_error: any 5xx.
- response_schema_conformance: a body that does not match the schema documented for its status.
- content_type_conformance: a Content-Type other than the one documented for its status.
- response_headers_conformance: a header the document promises for its status is missing/wrong.
- documented_success_status (ours): a 2xx that the operation does not document (201 where the
  document says 200): a client generated from the document would misread it.
Not used: status_code_conformance, because the documents list no 4xx at all (they promise a
422 that the services never send: they answer 400 in their own fault shape), so every refusal
would count; negative_data_rejection and positive_data_acceptance, because the services accept
more than the documents describe on purpose (Keystone and Glance keep unknown keys as extras).
Phases: fuzzing only. The coverage phase sends every boundary case of every parameter (hundreds
per operation, past the CI budget); the documents carry no examples and no links (stateful).

OVERCAST_OPENAPI_EXAMPLES (default 8: the whole file in about 80 s on two busy cores) bounds the
generated examples per operation and persona; set it higher for a longer search outside CI.
Generation is deterministic per operation.
OVERCAST_OPENAPI_LOG=FILE appends one JSON line per request (operation, persona, status), to see
what a run reached.

KNOWN_FAILURES lists what fails today, each with a reason. The run tolerates exactly those
(operation, failure kind) pairs; `test_known_failure_still_happens` replays each one's request
and fails once it no longer fails, so the list can only shrink.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.failures import Failure
from schemathesis.errors import FailureGroup

from tests.functional.conftest import running
from tests.functional.openapi_cloud import Cloud, Seed, World, apps, config_for, seed

EXAMPLES = int(os.environ.get("OVERCAST_OPENAPI_EXAMPLES", "8"))
PERSONAS = ["admin", "member"]
LOG = os.environ.get("OVERCAST_OPENAPI_LOG")


@dataclass(frozen=True)
class Known:
    """A failure the run finds today: where, what kind, why, and a request that shows it."""

    service: str
    operation: str  # schemathesis' label: "METHOD /path/{param}"
    failures: tuple[str, ...]  # schemathesis' Failure classes: ServerError, MalformedJson, ...
    reason: str
    # The request, replayed by test_known_failure_still_happens. "$name" in a path parameter or
    # header is the first seeded id (or token) of that name, "$name#i" the i-th.
    path_parameters: dict[str, str] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    persona: str = "admin"

    @property
    def id(self) -> str:
        return f"{self.operation} {'+'.join(self.failures)}"


KNOWN_FAILURES: list[Known] = [
]


def _documents() -> dict[str, dict[str, Any]]:
    # Made by the same apps that serve them (test_served_documents_are_the_ones_tested checks
    # that); no lifespan, database or state directory is needed for that.
    with tempfile.TemporaryDirectory() as tmp:
        return {name: app.openapi() for name, app in apps(config_for(Path(tmp))).items()}


DOCUMENTS = _documents()
CONFIG = schemathesis.Config.from_dict({
    "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
               "response_schema_conformance": {"enabled": True},
               "content_type_conformance": {"enabled": True},
               "response_headers_conformance": {"enabled": True}},
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True,
                   "database": "none"},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})
CLOUD = Cloud()
SEED: list[Seed] = []  # filled by the session fixture, read by the hooks at generation time


class UndocumentedSuccess(Failure):
    """A 2xx status the operation does not document."""

    kind_title = "Undocumented success status"


def documented_success_status(ctx: Any, response: schemathesis.Response,
                              case: schemathesis.Case[Any]) -> bool | None:
    if not 200 <= response.status_code < 300:
        return None
    documented = case.operation.definition.raw["responses"]
    if str(response.status_code) in documented or "2XX" in documented or "default" in documented:
        return None
    raise UndocumentedSuccess(
        operation=case.operation.label,
        message=f"{response.status_code}; the document says {', '.join(documented)}")


# Glance's JSON-Patch media types are JSON on the wire.
schemathesis.serializer.alias("application/openstack-images-v2.1-json-patch", "application/json")
schemathesis.serializer.alias("application/openstack-images-v2.0-json-patch", "application/json")


def _schema(service: str) -> Any:
    schema = schemathesis.openapi.from_dict(DOCUMENTS[service], config=CONFIG)
    schema.app = CLOUD.asgi(service)

    def real(generated: dict[str, Any], names: dict[str, list[str]],
             together: Sequence[dict[str, str]] = ()) -> Any:
        """Half the time every known parameter is one that exists, else each one may be."""
        if not generated or not any(k in names for k in generated):
            return st.just(generated)
        groups = [{k: v for k, v in g.items() if k in generated} for g in together]
        every = st.fixed_dictionaries({
            k: st.sampled_from(names[k]) if k in names else st.just(v)
            for k, v in generated.items()})
        if any(groups):
            every = st.tuples(every, st.sampled_from(groups)).map(lambda d: {**d[0], **d[1]})
        some = st.fixed_dictionaries({
            k: st.one_of(st.just(v), st.sampled_from(names[k])) if k in names else st.just(v)
            for k, v in generated.items()})
        return st.one_of(every, some)

    @schema.hook
    def flatmap_path_parameters(ctx: schemathesis.HookContext,
                                path_parameters: dict[str, Any]) -> Any:
        return real(path_parameters, SEED[0].ids[service], SEED[0].together[service])

    @schema.hook
    def flatmap_query(ctx: schemathesis.HookContext, query: dict[str, Any]) -> Any:
        return real(query, SEED[0].ids[service])

    @schema.hook
    def flatmap_case(ctx: schemathesis.HookContext, case: schemathesis.Case[Any]) -> Any:
        # The document does not declare the token-validation header (X-Subject-Token on
        # /v3/auth/tokens), so nothing generates it: none, or a token that exists.
        if case.operation.path != "/v3/auth/tokens" or case.method == "POST":
            return st.just(case)

        def with_subject(token: str | None) -> schemathesis.Case[Any]:
            if token is not None:
                case.headers = {**(case.headers or {}), "X-Subject-Token": token}
            return case

        return st.sampled_from([None, *SEED[0].headers["X-Subject-Token"]]).map(with_subject)

    return schema


identity = _schema("identity")
image = _schema("image")
volume = _schema("volume")


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    if not SEED:
        SEED.append(asyncio.run(seed(tmp_path_factory.mktemp("openapi-seed"))))
    return SEED[0]


@pytest.fixture
def world(seeded: Seed, tmp_path: Path) -> Iterator[World]:
    world = CLOUD.world = World(seeded, tmp_path)
    try:
        yield world
    finally:
        CLOUD.world = None
        world.close()


@pytest.fixture(params=PERSONAS)
def persona(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _known(service: str, failure: Failure) -> bool:
    return any((k.service, k.operation) == (service, failure.operation)
               and type(failure).__name__ in k.failures for k in KNOWN_FAILURES)


def call_and_check(service: str, case: schemathesis.Case[Any], persona: str, token: str) -> None:
    headers = {"X-Auth-Token": token}
    response = case.call(headers=headers)
    if LOG:  # one line per request, to see what a run reached: statuses per operation
        with open(LOG, "a") as f:
            f.write(json.dumps({"service": service, "persona": persona, "operation":
                                case.operation.label, "status": response.status_code,
                                "path": response.request.url}) + "\n")
    try:
        case.validate_response(response, headers=headers,
                               additional_checks=[documented_success_status])
    except FailureGroup as group:
        if not all(_known(service, f) for f in group.exceptions):
            raise


SETTINGS = hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                               derandomize=True, print_blob=False,
                               suppress_health_check=list(hypothesis.HealthCheck))


@identity.parametrize()
@SETTINGS
def test_identity(case: schemathesis.Case[Any], persona: str, world: World, seeded: Seed) -> None:
    call_and_check("identity", case, persona, seeded.tokens[persona])


@image.parametrize()
@SETTINGS
def test_image(case: schemathesis.Case[Any], persona: str, world: World, seeded: Seed) -> None:
    call_and_check("image", case, persona, seeded.tokens[persona])


@volume.parametrize()
@SETTINGS
def test_volume(case: schemathesis.Case[Any], persona: str, world: World, seeded: Seed) -> None:
    call_and_check("volume", case, persona, seeded.tokens[persona])


async def test_served_documents_are_the_ones_tested(seeded: Seed, tmp_path: Path) -> None:
    cloud = World(seeded, tmp_path).apps
    async with running(cloud["identity"]) as ks, running(cloud["image"]) as gl, \
            running(cloud["volume"]) as vol:
        for name, http in (("identity", ks), ("image", gl), ("volume", vol)):
            r = await http.get(f"/openapi-{name}.json",
                               headers={"X-Auth-Token": seeded.tokens["member"]})
            assert r.status_code == 200, r.text
            assert r.json() == DOCUMENTS[name]


# Defined only while something is known to fail: with nothing listed there is nothing to
# replay (an empty parametrisation would only show up as a skip).
if KNOWN_FAILURES:
    @pytest.mark.parametrize("known", KNOWN_FAILURES, ids=[k.id for k in KNOWN_FAILURES])
    def test_known_failure_still_happens(known: Known, world: World, seeded: Seed) -> None:
        """XFAIL with its reason while it fails (so every run lists them); FAIL once it is fixed."""
        schema = {"identity": identity, "image": image, "volume": volume}[known.service]
        method, path = known.operation.split(" ", 1)

        def resolve(values: dict[str, str]) -> dict[str, str]:
            out = {}
            for name, value in values.items():
                if value.startswith("$"):
                    key, _, index = value[1:].partition("#")
                    value = {**seeded.ids[known.service], **seeded.headers}[key][int(index or 0)]
                out[name] = value
            return out

        case = schema[path][method].Case(
            path_parameters=resolve(known.path_parameters), headers=resolve(known.headers),
            **({} if known.body is None else {"body": known.body, "media_type": "application/json"}))
        headers = {"X-Auth-Token": seeded.tokens[known.persona]}
        response = case.call(headers=headers)
        try:
            case.validate_response(response, headers=headers,
                                   additional_checks=[documented_success_status])
        except FailureGroup as group:
            found = {type(f).__name__ for f in group.exceptions}
            if set(known.failures) <= found:
                pytest.xfail(f"{known.operation}: {known.reason}")
            pytest.fail(f"{known.operation} fails differently now ({sorted(found)}, listed: "
                        f"{list(known.failures)}); update KNOWN_FAILURES")
        pytest.fail(f"{known.operation} no longer fails ({response.status_code}): remove it from "
                    "KNOWN_FAILURES")
