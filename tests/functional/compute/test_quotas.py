"""Quota sets, quota classes and /limits as Nova answers them, per microversion, with usage
counted from what exists (keypairs, server groups)."""

from __future__ import annotations

from tests.functional.compute.conftest import Nova

V21 = {"instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items",
       "injected_files", "injected_file_content_bytes", "injected_file_path_bytes", "key_pairs",
       "security_groups", "security_group_rules", "server_groups", "server_group_members"}
NETWORK = {"floating_ips", "fixed_ips", "security_groups", "security_group_rules"}
INJECTED = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}


async def test_defaults_show_and_keys_per_microversion(nova: Nova) -> None:
    path = f"/v2.1/os-quota-sets/{nova.alpha}"
    shown = (await nova.ok("GET", path, nova.alice))["quota_set"]
    assert set(shown) == V21 | {"id"}
    assert (shown["id"], shown["instances"], shown["cores"], shown["ram"]) == (
        nova.alpha, 10, 20, 51200)
    assert (await nova.ok("GET", f"{path}/defaults", nova.bob))["quota_set"] == shown
    v236 = (await nova.ok("GET", path, nova.reader, version="2.36"))["quota_set"]
    assert set(v236) == (V21 - NETWORK) | {"id"}
    v257 = (await nova.ok("GET", path, nova.alice, version="2.57"))["quota_set"]
    assert set(v257) == (V21 - NETWORK - INJECTED) | {"id"}
    # another project's quotas are for admins
    await nova.fault("GET", f"/v2.1/os-quota-sets/{nova.beta}", nova.alice, 403)


async def test_update_detail_users_and_delete(nova: Nova) -> None:
    path = f"/v2.1/os-quota-sets/{nova.alpha}"
    await nova.fault("PUT", path, nova.alice, 403, json={"quota_set": {"ram": 1}})
    updated = (await nova.ok("PUT", path, nova.admin,
                             json={"quota_set": {"ram": "5120", "key_pairs": 3}}))["quota_set"]
    assert "id" not in updated and updated["ram"] == 5120 and updated["key_pairs"] == 3
    await nova.fault("PUT", path, nova.admin, 400, json={"quota_set": {"ram": -2}})
    await nova.fault("PUT", path, nova.admin, 400, json={"quota_set": {"colour": 1}})
    await nova.fault("PUT", path, nova.admin, 400, version="2.36",
                     json={"quota_set": {"floating_ips": 1}})

    await nova.ok("POST", "/v2.1/os-keypairs", nova.alice, json={"keypair": {"name": "a"}})
    await nova.ok("POST", "/v2.1/os-server-groups", nova.alice,
                  json={"server_group": {"name": "g", "policies": ["affinity"]}})
    detail = (await nova.ok("GET", f"{path}/detail", nova.alice))["quota_set"]
    assert detail["ram"] == {"limit": 5120, "in_use": 0, "reserved": 0}
    assert detail["key_pairs"]["in_use"] == 1
    assert detail["server_groups"]["in_use"] == 1
    # below what is in use: refused without force
    await nova.fault("PUT", path, nova.admin, 400, json={"quota_set": {"server_groups": 0}})
    await nova.ok("PUT", path, nova.admin, json={"quota_set": {"server_groups": 0,
                                                              "force": True}})

    user = f"{path}?user_id={nova.alice_id}"
    await nova.ok("PUT", user, nova.admin, json={"quota_set": {"ram": 2048}})
    assert (await nova.ok("GET", user, nova.admin))["quota_set"]["ram"] == 2048
    assert (await nova.ok("GET", path, nova.admin))["quota_set"]["ram"] == 5120
    # a user's limit may not exceed the project's
    await nova.fault("PUT", user, nova.admin, 400, json={"quota_set": {"ram": 9999}})

    r = await nova.http.delete(path, headers=nova.admin)
    assert r.status_code == 202
    back = (await nova.ok("GET", path, nova.admin))["quota_set"]
    assert back["ram"] == 51200 and back["server_groups"] == 10


async def test_quota_classes(nova: Nova) -> None:
    path = "/v2.1/os-quota-class-sets/default"
    old = (await nova.ok("GET", path, nova.admin))["quota_class_set"]
    assert old["id"] == "default" and "server_groups" not in old and "floating_ips" in old
    v250 = (await nova.ok("GET", path, nova.admin, version="2.50"))["quota_class_set"]
    assert "server_groups" in v250 and "floating_ips" not in v250
    new = (await nova.ok("PUT", path, nova.admin, version="2.57",
                         json={"quota_class_set": {"instances": 30, "server_groups": 5}}))
    assert new["quota_class_set"]["instances"] == 30
    assert "injected_files" not in new["quota_class_set"]
    # the default class is every project's default
    defaults = (await nova.ok("GET", f"/v2.1/os-quota-sets/{nova.beta}/defaults", nova.bob))
    assert defaults["quota_set"]["instances"] == 30
    await nova.fault("GET", path, nova.alice, 403)


async def test_limits_per_microversion(nova: Nova) -> None:
    await nova.ok("POST", "/v2.1/os-server-groups", nova.alice,
                  json={"server_group": {"name": "g", "policies": ["anti-affinity"]}})
    limits = (await nova.ok("GET", "/v2.1/limits", nova.alice))["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert (absolute["maxTotalInstances"], absolute["maxTotalCores"],
            absolute["maxTotalRAMSize"], absolute["maxTotalKeypairs"]) == (10, 20, 51200, 100)
    assert absolute["totalServerGroupsUsed"] == 1 and absolute["totalInstancesUsed"] == 0
    assert {"maxImageMeta", "maxPersonality", "maxSecurityGroups"} <= set(absolute)
    v236 = (await nova.ok("GET", "/v2.1/limits", nova.alice, version="2.36"))["limits"]
    assert "maxSecurityGroups" not in v236["absolute"] and "maxImageMeta" in v236["absolute"]
    v257 = (await nova.ok("GET", "/v2.1/limits", nova.alice, version="2.57"))["limits"]
    assert not {"maxImageMeta", "maxPersonality", "maxPersonalitySize"} & set(v257["absolute"])

    await nova.ok("PUT", f"/v2.1/os-quota-sets/{nova.beta}", nova.admin,
                  json={"quota_set": {"instances": 3}})
    theirs = await nova.ok("GET", f"/v2.1/limits?tenant_id={nova.beta}", nova.admin)
    assert theirs["limits"]["absolute"]["maxTotalInstances"] == 3
    # a user asking for another project's limits gets their own
    mine = await nova.ok("GET", f"/v2.1/limits?tenant_id={nova.beta}", nova.alice)
    assert mine["limits"]["absolute"]["maxTotalInstances"] == 10
