"""Version discovery as Nova answers it: public, v2.0 first, each self link followable."""

from __future__ import annotations

from tests.functional.compute.conftest import Nova


async def test_root_lists_v20_then_v21_with_the_microversion_range(nova: Nova) -> None:
    r = await nova.http.get("/")
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert [v["id"] for v in versions] == ["v2.0", "v2.1"]
    v21 = versions[1]
    assert v21["status"] == "CURRENT" and v21["min_version"] == "2.1"
    assert v21["version"] == "2.96"
    assert v21["links"] == [{"rel": "self", "href": "http://testserver/v2.1/"}]


async def test_each_self_link_leads_to_its_own_document(nova: Nova) -> None:
    for v in (await nova.http.get("/")).json()["versions"]:
        href = v["links"][0]["href"]
        r = await nova.http.get(href)
        assert r.status_code == 200, href
        doc = r.json()["version"]
        assert doc["id"] == v["id"]
        assert [link for link in doc["links"] if link["rel"] == "self"] == v["links"]
        assert doc["media-types"][0]["base"] == "application/json"
