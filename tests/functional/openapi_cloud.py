"""An in-process cloud for the OpenAPI property-based run (tests/functional/test_openapi.py).

`seed(state_dir)` builds one cloud on SQLite and fills it through the API with one resource of
each kind, owned neither by the admin nor by the member persona where that can be, so that
operations on real ids have something to read, change and delete. It returns the tokens of the
personas and, per path parameter name, the ids that exist.

Each generated test then runs against a fresh copy of that state directory (a `World`): what one
operation deletes or disables does not starve the next one. Schemathesis calls one ASGI app per
service (`Cloud.asgi(service)`) and runs it on its own event loop thread; that app hands each
request to the current world's app, whose lifespans it enters on that loop at the first request
(engines and locks belong to the loop that made them) and leaves when the test ends.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from overcast.cli import bootstrap, db_upgrade
from overcast.config import Config
from overcast.identity.app import create_app as identity_app
from overcast.image.app import create_app as image_app
from overcast.volume.app import create_app as volume_app
from tests.functional.conftest import ADMIN_PASSWORD, make_config, running
from tests.functional.identity.conftest import Keystone
from tests.helpers import password_auth

# Long enough for a long run outside CI (the tokens are made once, when the cloud is seeded).
TOKEN_LIFETIME = str(24 * 3600)


@dataclass
class Seed:
    """The seeded cloud: its state directory, the personas' tokens and the ids that exist."""

    state_dir: Path
    tokens: dict[str, str]  # persona -> token
    # service -> parameter name -> ids (path parameters, and query filters of the same name)
    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # header name -> values (X-Subject-Token: tokens that exist)
    headers: dict[str, list[str]] = field(default_factory=dict)
    # service -> parameter values that only mean something together (an assignment's target,
    # actor and role: a project id is no use as the id of a domain)
    together: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def config_for(tmp: Path) -> Config:
    """The configuration of a cloud whose state directory is tmp/state."""
    return make_config(tmp, OVERCAST_IDENTITY__TOKEN_EXPIRATION=TOKEN_LIFETIME,
                       OVERCAST_VOLUME__DRIVER="fake", OVERCAST_VOLUME__HOST="openapi")


def apps(config: Config) -> dict[str, FastAPI]:
    """Identity, Image and Block Storage of one cloud; the others validate tokens with this
    Identity."""
    ident = identity_app(config)

    def local() -> Any:
        return getattr(ident.state, "identity", None)

    return {"identity": ident, "image": image_app(config, local),
            "volume": volume_app(config, local)}


async def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.is_success, f"{r.request.url}: {r.text}"
    body: dict[str, Any] = r.json() if r.content else {}
    return body


async def seed(tmp: Path) -> Seed:
    """Migrate, bootstrap and fill a cloud in tmp/state (see the module docstring)."""
    config = config_for(tmp)
    await db_upgrade(config, ["identity", "image", "volume"])
    await bootstrap(config, ADMIN_PASSWORD)
    cloud = apps(config)
    async with running(cloud["identity"]) as http:
        r = await http.post("/v3/auth/tokens", json=password_auth("admin", ADMIN_PASSWORD))
        ks = Keystone(http, r.headers["X-Subject-Token"])
        adm = ks.admin
        carol = await ks.make_user("carol", "carol-pw", "gamma")  # the member persona
        victor = await ks.make_user("victor", "victor-pw", "victim")
        tokens = {"admin": ks.admin_token, "member": await ks.token("carol", "carol-pw", "gamma")}
        victor_token = await ks.token("victor", "victor-pw", "victim")
        vic = ks.as_(victor_token)
        project, user = victor["project_id"], victor["user_id"]
        roles = {x["name"]: x["id"] for x in (await _ok(await http.get("/v3/roles", headers=adm))
                                              )["roles"]}

        async def post(path: str, body: dict[str, Any], who: dict[str, str] = adm
                       ) -> dict[str, Any]:
            return await _ok(await http.post(path, headers=who, json=body))

        async def put(path: str, body: dict[str, Any] | None = None) -> None:
            await _ok(await http.put(path, headers=adm, json=body))

        domain = (await post("/v3/domains", {"domain": {"name": "victim-domain"}}))["domain"]["id"]
        group = (await post("/v3/groups", {"group": {"name": "victim-group"}}))["group"]["id"]
        await put(f"/v3/groups/{group}/users/{user}")
        role = (await post("/v3/roles", {"role": {"name": "victim-role"}}))["role"]["id"]
        await put(f"/v3/roles/{role}/implies/{roles['reader']}")
        await put(f"/v3/projects/{project}/groups/{group}/roles/{role}")
        await put(f"/v3/projects/{project}/tags/victim-tag")
        region = (await post("/v3/regions", {"region": {"id": "victim-region"}}))["region"]["id"]
        service = (await post("/v3/services", {"service": {"type": "victim", "name": "victim"}})
                   )["service"]["id"]
        endpoint = (await post("/v3/endpoints", {"endpoint": {
            "service_id": service, "interface": "public", "url": "http://victim.example",
            "region_id": region}}))["endpoint"]["id"]
        endpoint_group = (await post("/v3/OS-EP-FILTER/endpoint_groups", {"endpoint_group": {
            "name": "victim", "filters": {"service_id": service}}}))["endpoint_group"]["id"]
        await put(f"/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group}/projects/{project}")
        await put(f"/v3/OS-EP-FILTER/projects/{project}/endpoints/{endpoint}")
        credential = (await post("/v3/credentials", {"credential": {
            "type": "ec2", "user_id": user, "project_id": project,
            "blob": json.dumps({"access": "victim-access", "secret": "victim-secret"})}})
                      )["credential"]["id"]
        access = (await post(f"/v3/users/{user}/credentials/OS-EC2", {"tenant_id": project}, vic)
                  )["credential"]["access"]
        app_cred = (await post(f"/v3/users/{user}/application_credentials", {
            "application_credential": {"name": "victim", "access_rules": [
                {"path": "/v2/images", "method": "GET", "service": "image"}]}}, vic)
                    )["application_credential"]
        trust = (await post("/v3/OS-TRUST/trusts", {"trust": {
            "trustor_user_id": user, "trustee_user_id": carol["user_id"], "project_id": project,
            "impersonation": False, "roles": [{"name": "member"}]}}, vic))["trust"]["id"]
        consumer = (await post("/v3/OS-OAUTH1/consumers", {"consumer": {"description": "victim"}})
                    )["consumer"]["id"]
        policy = (await post("/v3/policies", {"policy": {"type": "application/json",
                                                         "blob": "{}"}}))["policy"]["id"]
        # Stored LDAP options, but the SQL driver: an LDAP domain would send every user and
        # group request of this domain to a server that is not there (a 503 by design).
        await put(f"/v3/domains/{domain}/config", {"config": {
            "identity": {"driver": "sql"}, "ldap": {"url": "ldap://victim.example"}}})
        identity_ids = {
            "user_id": [user, carol["user_id"]], "project_id": [project, carol["project_id"]],
            "domain_id": [domain], "group_id": [group],
            # not the admin role: without it the admin persona has nothing left to test with
            "role_id": [role, roles["member"], roles["reader"]],
            "prior_role_id": [role], "implied_role_id": [roles["reader"]],
            "target": ["projects", "domains"], "actor": ["users", "groups"],
            "target_id": [project, carol["project_id"], domain],
            "actor_id": [user, carol["user_id"], group],
            "region_id": [region], "service_id": [service], "endpoint_id": [endpoint],
            "endpoint_group_id": [endpoint_group], "credential_id": [credential],
            "access": [access], "cred_id": [app_cred["id"]],
            "rule_id": [app_cred["access_rules"][0]["id"]], "trust_id": [trust],
            "consumer_id": [consumer], "policy_id": [policy], "group": ["identity", "ldap"],
            "option": ["driver", "url"], "tag": ["victim-tag"],
        }

        async with running(cloud["image"]) as g:

            async def gpost(path: str, body: dict[str, Any], who: dict[str, str] = adm
                            ) -> dict[str, Any]:
                return await _ok(await g.post(path, headers=who, json=body))

            raw = {"disk_format": "raw", "container_format": "bare"}
            active = (await gpost("/v2/images", {"name": "victim-active", "owner": project,
                                                 "tags": ["victim-tag"], **raw}))["id"]
            await _ok(await g.put(f"/v2/images/{active}/file", content=b"victim" * 100,
                                  headers={**adm, "Content-Type": "application/octet-stream"}))
            await gpost(f"/v2/images/{active}/members", {"member": carol["project_id"]})
            queued = (await gpost("/v2/images", {"name": "victim-queued", **raw}))["id"]
            imported = (await gpost("/v2/images", {"name": "victim-imported", "owner": project,
                                                   **raw}))["id"]
            await _ok(await g.put(f"/v2/images/{imported}/stage", content=b"staged" * 100,
                                  headers={**adm, "Content-Type": "application/octet-stream"}))
            await gpost(f"/v2/images/{imported}/import", {"method": {"name": "glance-direct"}})
            for _ in range(200):
                if (await _ok(await g.get(f"/v2/images/{imported}", headers=adm))
                        )["status"] == "active":
                    break
                await asyncio.sleep(0.05)
            task = (await _ok(await g.get(f"/v2/images/{imported}/tasks", headers=adm))
                    )["tasks"][0]["id"]
            own = (await gpost("/v2/images", {"name": "carol-own", **raw},
                               {"X-Auth-Token": tokens["member"]}))["id"]
            ns = "/v2/metadefs/namespaces"
            await gpost(ns, {"namespace": "victim-ns", "visibility": "public",
                             "resource_type_associations": [{"name": "OS::Glance::Image"}]})
            await gpost(f"{ns}/victim-ns/objects", {"name": "victim-object", "properties": {}})
            await gpost(f"{ns}/victim-ns/properties", {"name": "victim-property",
                                                      "title": "Victim", "type": "string"})
            await gpost(f"{ns}/victim-ns/tags/victim-tag", {})
        image_ids = {
            "image_id": [active, queued, imported, own],
            "member_id": [carol["project_id"], project], "namespace": ["victim-ns"],
            "object_name": ["victim-object"], "property_name": ["victim-property"],
            "resource_type": ["OS::Glance::Image"], "store_id": ["file"],
            "tag": ["victim-tag"], "tag_name": ["victim-tag"], "task_id": [task],
        }
    assignments = [
        {"target": "projects", "target_id": project, "actor": "groups", "actor_id": group,
         "role_id": role},
        {"target": "projects", "target_id": project, "actor": "users", "actor_id": user,
         "role_id": roles["member"]},
        {"target": "projects", "target_id": carol["project_id"], "actor": "users",
         "actor_id": carol["user_id"], "role_id": roles["member"]},
        {"target": "domains", "target_id": domain, "actor": "users", "actor_id": user,
         "role_id": role},
    ]
    volume_ids = await _seed_volume(cloud["volume"], adm, {"X-Auth-Token": victor_token},
                                    project, carol["project_id"])
    return Seed(config.state_dir, tokens,
                {"identity": identity_ids, "image": image_ids, "volume": volume_ids},
                {"X-Subject-Token": [victor_token, tokens["member"]]},
                {"identity": assignments, "image": [], "volume": []})


async def _seed_volume(app: FastAPI, adm: dict[str, str], vic: dict[str, str], project: str,
                       member_project: str) -> dict[str, list[str]]:
    """The victim's volume (available, through the fake driver's agent), its snapshot, and a
    private volume type with an extra spec."""
    async with running(app) as http:
        base = f"/v3/{project}"
        vol = await _ok(await http.post(f"{base}/volumes", headers=vic, json={
            "volume": {"size": 1, "name": "victim-volume", "metadata": {"victim-key": "v"}}}))
        volume_id = vol["volume"]["id"]
        for _ in range(200):
            shown = await _ok(await http.get(f"{base}/volumes/{volume_id}", headers=vic))
            if shown["volume"]["status"] == "available":
                break
            await asyncio.sleep(0.02)
        snap = await _ok(await http.post(f"{base}/snapshots", headers=vic, json={
            "snapshot": {"volume_id": volume_id, "name": "victim-snapshot",
                         "metadata": {"victim-key": "v"}}}))
        vtype = await _ok(await http.post(f"{base}/types", headers=adm, json={"volume_type": {
            "name": "victim-type", "os-volume-type-access:is_public": False,
            "extra_specs": {"victim-key": "v"}}}))
    return {"project_id": [project, member_project], "target": [project, member_project],
            "volume_id": [volume_id], "snapshot_id": [snap["snapshot"]["id"]],
            "type_id": [vtype["volume_type"]["id"], "default"], "key": ["victim-key"],
            "action": ["enable", "disable", "disable-log-reason"], "class_name": ["default"]}


class World:
    """A fresh copy of the seeded cloud, its apps started on the loop of the first request."""

    def __init__(self, seed: Seed, tmp: Path) -> None:
        shutil.copytree(seed.state_dir, tmp / "state")
        self.apps = apps(config_for(tmp))
        self.states: dict[str, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None

    async def started(self, service: str) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._ready, self._stop = asyncio.Event(), asyncio.Event()
            # A test drives one service: its lifespan and Identity's (which validates the
            # tokens) are entered, not every service's.
            self._task = asyncio.create_task(self._serve(dict.fromkeys(["identity", service])))
        assert self._ready is not None
        ready = asyncio.ensure_future(self._ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._task  # raises what the lifespan failed with

    async def _serve(self, names: Iterable[str]) -> None:
        # One task enters and leaves every lifespan, as a server does.
        assert self._ready is not None and self._stop is not None
        async with AsyncExitStack() as stack:
            for name in names:
                app = self.apps[name]
                state = await stack.enter_async_context(app.router.lifespan_context(app))
                self.states[name] = dict(state or {})
            self._ready.set()
            await self._stop.wait()

    async def _shutdown(self) -> None:
        assert self._stop is not None and self._task is not None
        self._stop.set()
        await self._task

    def close(self) -> None:
        """Leave the lifespans (from the test's thread; they run on schemathesis' loop)."""
        if self._task is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(60)


class Cloud:
    """The ASGI apps schemathesis knows, one per service, serving whatever world is current."""

    def __init__(self) -> None:
        self.world: World | None = None

    def asgi(self, service: str) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":  # the worlds' lifespans are run per world, above
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
                return
            world = self.world
            assert world is not None, "no world: use the `world` fixture"
            await world.started(service)
            await world.apps[service]({**scope, "state": dict(world.states[service])},
                                      receive, send)

        return app
