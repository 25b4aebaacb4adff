"""A trailing slash after the account names the account, as in Swift (its empty container
name is no container); the rest of the cloud answers such paths with a 404, never a
redirect (common/app.py)."""

from __future__ import annotations

from tests.functional.object.conftest import Swift


async def test_account_with_a_trailing_slash_is_the_account(swift: Swift) -> None:
    a = f"/v1/AUTH_{swift.alpha}"
    assert (await swift.put(f"{a}/c1")).status_code == 201
    r = await swift.http.get(f"{a}/?format=json", headers=swift.alice)
    assert r.status_code == 200 and [c["name"] for c in r.json()] == ["c1"]
    r = await swift.http.get(f"{a}/c1/", headers=swift.alice)  # the container, as before
    assert r.status_code in (200, 204)
    r = await swift.http.get("/info/", headers=swift.alice)
    assert r.status_code == 404
