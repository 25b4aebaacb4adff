"""Unified limits and OS-EP-FILTER catalogs: the same requests to Keystone 30 (recorded) and to
Overcast. Each test makes its own service, project and names."""

from __future__ import annotations

import pytest

from tests.parity.client import Api, Target
from tests.parity.snapshot import NO_SUCH_HEX as NO_SUCH
from tests.parity.snapshot import Snapshot

pytestmark = pytest.mark.validated


def test_limit_model(identity: Api, snapshot: Snapshot) -> None:
    snapshot.match("model", identity.get("/v3/limits/model"))


def test_registered_limits(identity: Api, snapshot: Snapshot) -> None:
    sid = identity.post("/v3/services", json={"service": {
        "type": "parity-limits", "name": "parity-limits"}}).json()["service"]["id"]
    body = {"registered_limits": [
        {"service_id": sid, "resource_name": "cores", "default_limit": 10,
         "description": "cores per project"},
        {"service_id": sid, "region_id": "RegionOne", "resource_name": "ram",
         "default_limit": 2048}]}
    r = snapshot.match("create", identity.post("/v3/registered_limits", json=body))
    cores, ram = (x["id"] for x in r.json()["registered_limits"])
    snapshot.match("duplicate", identity.post("/v3/registered_limits", json={
        "registered_limits": [body["registered_limits"][0]]}))
    snapshot.match("list_by_service", identity.get(
        f"/v3/registered_limits?service_id={sid}&resource_name=ram"))
    snapshot.match("show", identity.get(f"/v3/registered_limits/{cores}"))
    snapshot.match("update", identity.patch(f"/v3/registered_limits/{cores}", json={
        "registered_limit": {"default_limit": 12, "description": None}}))
    snapshot.match("update_to_duplicate", identity.patch(f"/v3/registered_limits/{cores}", json={
        "registered_limit": {"resource_name": "ram", "region_id": "RegionOne"}}))
    snapshot.match("missing_service", identity.post("/v3/registered_limits", json={
        "registered_limits": [{"service_id": NO_SUCH, "resource_name": "x",
                               "default_limit": 1}]}))
    snapshot.match("missing_region", identity.post("/v3/registered_limits", json={
        "registered_limits": [{"service_id": sid, "region_id": "parity-nowhere",
                               "resource_name": "x", "default_limit": 1}]}))
    snapshot.match("below_minimum", identity.post("/v3/registered_limits", json={
        "registered_limits": [{"service_id": sid, "resource_name": "x", "default_limit": -2}]}))
    snapshot.match("delete", identity.delete(f"/v3/registered_limits/{ram}"))
    snapshot.match("show_deleted", identity.get(f"/v3/registered_limits/{ram}"))
    snapshot.match("delete_cores", identity.delete(f"/v3/registered_limits/{cores}"))


def test_limits(identity: Api, snapshot: Snapshot) -> None:
    sid = identity.post("/v3/services", json={"service": {
        "type": "parity-quota", "name": "parity-quota"}}).json()["service"]["id"]
    pid = identity.post("/v3/projects", json={"project": {
        "name": "parity-limited", "domain_id": "default"}}).json()["project"]["id"]
    rid = identity.post("/v3/registered_limits", json={"registered_limits": [{
        "service_id": sid, "resource_name": "volumes",
        "default_limit": 10}]}).json()["registered_limits"][0]["id"]
    snapshot.match("no_registered_limit", identity.post("/v3/limits", json={"limits": [{
        "service_id": sid, "project_id": pid, "resource_name": "gpus", "resource_limit": 1}]}))
    r = snapshot.match("create", identity.post("/v3/limits", json={"limits": [
        {"service_id": sid, "project_id": pid, "resource_name": "volumes", "resource_limit": 5,
         "description": "five"},
        {"service_id": sid, "domain_id": "default", "resource_name": "volumes",
         "resource_limit": 50}]}))
    mine, domain = (x["id"] for x in r.json()["limits"])
    snapshot.match("duplicate", identity.post("/v3/limits", json={"limits": [{
        "service_id": sid, "project_id": pid, "resource_name": "volumes",
        "resource_limit": 7}]}))
    snapshot.match("missing_project", identity.post("/v3/limits", json={"limits": [{
        "service_id": sid, "project_id": NO_SUCH, "resource_name": "volumes",
        "resource_limit": 7}]}))
    snapshot.match("show", identity.get(f"/v3/limits/{mine}"))
    snapshot.match("list_by_project", identity.get(f"/v3/limits?project_id={pid}"))
    snapshot.match("update", identity.patch(f"/v3/limits/{mine}", json={"limit": {
        "resource_limit": 6, "description": "six"}}))
    snapshot.match("update_registered_in_use", identity.patch(f"/v3/registered_limits/{rid}",
                                                              json={"registered_limit": {
                                                                  "default_limit": 11}}))
    snapshot.match("delete_registered_in_use", identity.delete(f"/v3/registered_limits/{rid}"))
    snapshot.match("delete", identity.delete(f"/v3/limits/{mine}"))
    snapshot.match("show_deleted", identity.get(f"/v3/limits/{mine}"))
    snapshot.match("delete_domain_limit", identity.delete(f"/v3/limits/{domain}"))
    snapshot.match("delete_registered", identity.delete(f"/v3/registered_limits/{rid}"))


def test_endpoint_filter_catalog(identity: Api, target: Target, snapshot: Snapshot) -> None:
    sid = identity.post("/v3/services", json={"service": {
        "type": "parity-filtered", "name": "parity-filtered"}}).json()["service"]["id"]
    eid = identity.post("/v3/endpoints", json={"endpoint": {
        "service_id": sid, "interface": "public", "region_id": "RegionOne",
        "url": "http://parity.example:1234/v1/$(project_id)s"}}).json()["endpoint"]["id"]
    pid = identity.post("/v3/projects", json={"project": {
        "name": "parity-filtered-project", "domain_id": "default"}}).json()["project"]["id"]
    uid = identity.post("/v3/users", json={"user": {
        "name": "parity-filtered-user", "password": "pw-filtered",
        "domain_id": "default"}}).json()["user"]["id"]
    member = identity.get("/v3/roles?name=member").json()["roles"][0]["id"]
    identity.put(f"/v3/projects/{pid}/users/{uid}/roles/{member}")
    snapshot.match("associate", identity.put(f"/v3/OS-EP-FILTER/projects/{pid}/endpoints/{eid}"))
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "parity-filtered-user", "domain": {"id": "default"}, "password": "pw-filtered"}}},
        "scope": {"project": {"id": pid}}}}
    r = identity.post("/v3/auth/tokens", json=login, token=False)
    token = r.headers["X-Subject-Token"]
    snapshot.match("token_catalog", identity.get("/v3/auth/catalog", token=token))
    snapshot.match("validate", identity.get("/v3/auth/tokens", headers={
        "X-Subject-Token": token}))
    snapshot.match("endpoints_of_project", identity.get(
        f"/v3/OS-EP-FILTER/projects/{pid}/endpoints"))
    snapshot.match("dissociate", identity.delete(
        f"/v3/OS-EP-FILTER/projects/{pid}/endpoints/{eid}"))
    unscoped = {"auth": {"identity": login["auth"]["identity"]}}
    r = identity.post("/v3/auth/tokens", json=unscoped, token=False)
    snapshot.match("unscoped_catalog", identity.get("/v3/auth/catalog",
                                                    token=r.headers["X-Subject-Token"]))
    identity.delete(f"/v3/users/{uid}")
    identity.delete(f"/v3/projects/{pid}")
    identity.delete(f"/v3/services/{sid}")
