"""Application-credential access rules narrow what a token can do, in every service (issue 8 #1).

keystonemiddleware's semantics: a token from an application credential with access rules is let
through only for requests that match a rule of this service type (method, and a path where `*`
is one segment and `**` any number); anything else is a 401 before the service sees it.
"""

from __future__ import annotations

from typing import Any

from overcast.common.faults import UNAUTHORIZED_EXPLANATION
from tests.functional.image.conftest import Glance

# Keystone's own refusal, and keystonemiddleware's (webob's page) in front of the image API.
KEYSTONE_401 = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}
GLANCE_401 = {"code": "401 Unauthorized", "title": "Unauthorized",
              "message": f"{UNAUTHORIZED_EXPLANATION}<br /><br />\n\n\n"}


async def _app_cred_token(glance: Glance, rules: list[dict[str, str]] | None,
                          **extra: Any) -> dict[str, str]:
    ks = glance.ks
    me = (await ks.http.get("/v3/auth/tokens", headers={
        **glance.alice, "X-Subject-Token": glance.alice["X-Auth-Token"]})).json()["token"]
    body: dict[str, Any] = {"name": f"ac-{len(str(rules))}-{id(rules)}", **extra}
    if rules is not None:
        body["access_rules"] = rules
    r = await ks.http.post(f"/v3/users/{me['user']['id']}/application_credentials",
                           headers=glance.alice, json={"application_credential": body})
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    r = await ks.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    assert r.status_code == 201, r.text
    return {"X-Auth-Token": r.headers["X-Subject-Token"]}


async def test_rules_limit_an_image_token_to_what_they_name(glance: Glance) -> None:
    mine = await glance.create(glance.alice, name="mine", disk_format="raw",
                               container_format="bare")
    token = await _app_cred_token(glance, [{"service": "image", "method": "GET",
                                            "path": "/v2/images"}])
    r = await glance.http.get("/v2/images", headers=token)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["images"]] == [mine["id"]]
    refused = [
        await glance.http.post("/v2/images", headers=token, json={"name": "sneaky"}),
        await glance.patch(token, mine["id"], [{"op": "replace", "path": "/name",
                                                "value": "renamed"}]),
        await glance.http.get(f"/v2/images/{mine['id']}", headers=token),
        await glance.http.delete(f"/v2/images/{mine['id']}", headers=token),
        # Another service type: the identity API is not named by the rule either.
        await glance.ks.http.get("/v3/projects", headers=token),
    ]
    for r in refused:
        assert r.status_code == 401, (r.request.method, r.request.url, r.text)
        identity = r.request.url.path.startswith("/v3")
        assert r.json() == (KEYSTONE_401 if identity else GLANCE_401)
        assert r.headers["WWW-Authenticate"] == (
            'Keystone uri="http://127.0.0.1:5000/v3"' if identity
            else 'Keystone uri="http://127.0.0.1:5000"')
    # Nothing the refused requests asked for happened.
    r = await glance.http.get(f"/v2/images/{mine['id']}", headers=glance.alice)
    assert r.json()["name"] == "mine"
    names = [i["name"] for i in (await glance.http.get("/v2/images", headers=glance.alice)
                                 ).json()["images"]]
    assert "sneaky" not in names


async def test_wildcards_match_segments_as_keystonemiddleware(glance: Glance) -> None:
    img = await glance.create(glance.alice, name="w", disk_format="raw", container_format="bare")
    token = await _app_cred_token(glance, [
        {"service": "image", "method": "GET", "path": "/v2/images/*"},
        {"service": "image", "method": "PUT", "path": "/v2/images/{image_id}/tags/**"},
    ])
    assert (await glance.http.get(f"/v2/images/{img['id']}", headers=token)).status_code == 200
    # `*` is one segment: the image's file is two segments below /v2/images.
    r = await glance.http.get(f"/v2/images/{img['id']}/file", headers=token)
    assert r.status_code == 401
    r = await glance.http.put(f"/v2/images/{img['id']}/tags/blue", headers=token)
    assert r.status_code == 204, r.text
    # The list itself is not /v2/images/<something>.
    assert (await glance.http.get("/v2/images", headers=token)).status_code == 401


async def test_a_token_with_rules_can_still_validate_itself(glance: Glance) -> None:
    token = await _app_cred_token(glance, [{"service": "image", "method": "GET",
                                            "path": "/v2/images"}])
    headers = {**token, "X-Subject-Token": token["X-Auth-Token"],
               "OpenStack-Identity-Access-Rules": "1.0"}
    r = await glance.ks.http.get("/v3/auth/tokens", headers=headers)
    assert r.status_code == 200, r.text
    rules = r.json()["token"]["application_credential"]["access_rules"]
    assert [(x["service"], x["method"], x["path"]) for x in rules] == [
        ("image", "GET", "/v2/images")]
    # A validator that does not say it enforces access rules must not learn the token is good
    # (Keystone answers 404 so an old middleware cannot be used to bypass the rules).
    headers.pop("OpenStack-Identity-Access-Rules")
    r = await glance.ks.http.get("/v3/auth/tokens", headers={
        **glance.admin, "X-Subject-Token": token["X-Auth-Token"]})
    assert r.status_code == 404, r.text


async def test_no_rules_means_the_roles_decide(glance: Glance) -> None:
    token = await _app_cred_token(glance, None)
    r = await glance.http.post("/v2/images", headers=token, json={"name": "free"})
    assert r.status_code == 201, r.text


async def test_a_service_token_lets_a_chained_request_through(glance: Glance) -> None:
    token = await _app_cred_token(glance, [{"service": "compute", "method": "POST",
                                            "path": "/v2.1/servers"}])
    assert (await glance.http.get("/v2/images", headers=token)).status_code == 401
    # Nova, booting the server the rule allows, fetches the image with the user's token and
    # its own service token; keystonemiddleware lets that chain through.
    r = await glance.http.get("/v2/images", headers={**token, "X-Service-Token":
                                                     glance.admin["X-Auth-Token"]})
    assert r.status_code == 200, r.text
    # A service token that is not valid does not.
    r = await glance.http.get("/v2/images", headers={**token, "X-Service-Token": "bogus"})
    assert r.status_code == 401
    # Nor one of a user without the service (or admin) role.
    r = await glance.http.get("/v2/images", headers={**token, "X-Service-Token":
                                                     glance.bob["X-Auth-Token"]})
    assert r.status_code == 401
