"""The list machinery every resource shares: filters (list values too), fields, sorting,
marker pages with next/previous links, tag filters, standard attributes, If-Match."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.functional.network.conftest import Neutron


async def test_filters_fields_sorting_and_pages(neutron: Neutron) -> None:
    n = neutron
    made = [await n.net(n.alice, name=f"net-{i}", admin_state_up=i % 2 == 0) for i in range(5)]
    ids = {m["id"] for m in made}

    r = await n.req("GET", "networks?name=net-1&name=net-3", n.alice)
    assert sorted(x["name"] for x in r.json()["networks"]) == ["net-1", "net-3"]
    r = await n.req("GET", "networks?admin_state_up=False", n.alice)
    assert sorted(x["name"] for x in r.json()["networks"]) == ["net-1", "net-3"]
    r = await n.req("GET", "networks?fields=id&fields=name", n.alice)
    assert all(set(x) == {"id", "name"} for x in r.json()["networks"])
    r = await n.req("GET", "networks?sort_key=name&sort_dir=desc", n.alice)
    assert [x["name"] for x in r.json()["networks"]] == [f"net-{i}" for i in range(4, -1, -1)]

    # Pages of two, following next links to the end, then back with previous.
    seen: list[str] = []
    url = "/v2.0/networks?sort_key=name&sort_dir=asc&limit=2"
    pages = 0
    body: dict[str, Any] = {}
    while url:
        body = (await n.http.get(url, headers=n.alice)).json()
        seen += [x["name"] for x in body["networks"]]
        nxt = [link for link in body.get("networks_links", []) if link["rel"] == "next"]
        parts = urlsplit(nxt[0]["href"]) if nxt else None
        url = f"{parts.path}?{parts.query}" if parts else ""
        pages += 1
    assert seen == [f"net-{i}" for i in range(5)] and pages == 3
    prev = next(lk for lk in body["networks_links"] if lk["rel"] == "previous")["href"]
    parts = urlsplit(prev)
    back = (await n.http.get(f"{parts.path}?{parts.query}", headers=n.alice)).json()
    assert [x["name"] for x in back["networks"]] == ["net-2", "net-3"]

    r = await n.req("GET", "networks?bogus=1", n.alice)
    assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "HTTPBadRequest"
    r = await n.req("GET", "networks?sort_key=subnets", n.alice)
    assert r.status_code == 400
    r = await n.req("GET", "networks?limit=2&marker=00000000-0000-0000-0000-000000000000",
                    n.alice)
    assert r.status_code == 404
    assert ids


async def test_tags_and_tag_filters(neutron: Neutron) -> None:
    n = neutron
    a = await n.net(n.alice, name="a")
    b = await n.net(n.alice, name="b")
    r = await n.req("PUT", f"networks/{a['id']}/tags", n.alice, {"tags": ["red", "blue"]})
    assert r.status_code == 200 and sorted(r.json()["tags"]) == ["blue", "red"]
    r = await n.req("PUT", f"networks/{b['id']}/tags/red", n.alice)
    assert r.status_code == 201
    r = await n.req("GET", f"networks/{b['id']}/tags/blue", n.alice)
    assert r.status_code == 404
    names = {}
    for q in ("tags=red,blue", "tags-any=blue", "not-tags=blue", "tags=red"):
        r = await n.req("GET", f"networks?{q}", n.alice)
        names[q] = sorted(x["name"] for x in r.json()["networks"])
    assert names == {"tags=red,blue": ["a"], "tags-any=blue": ["a"], "not-tags=blue": ["b"],
                     "tags=red": ["a", "b"]}
    shown = (await n.req("GET", f"networks/{a['id']}", n.alice)).json()["network"]
    assert shown["tags"] == ["blue", "red"] and shown["revision_number"] == 1
    r = await n.req("DELETE", f"networks/{a['id']}/tags", n.alice)
    assert r.status_code == 204
    r = await n.req("GET", f"networks/{a['id']}/tags", n.alice)
    assert r.json() == {"tags": []}


async def test_standard_attributes_and_if_match(neutron: Neutron) -> None:
    n = neutron
    net = await n.net(n.alice, description="first")
    for key in ("created_at", "updated_at", "revision_number", "project_id", "tenant_id",
                "description", "tags"):
        assert key in net
    assert net["project_id"] == n.alpha == net["tenant_id"]
    assert net["created_at"].endswith("Z") and net["revision_number"] == 0
    r = await n.http.put(f"/v2.0/networks/{net['id']}", headers={
        **n.alice, "If-Match": "revision_number=5"}, json={"network": {"name": "x"}})
    assert r.status_code == 412
    assert r.json()["NeutronError"]["type"] == "RevisionNumberConstraintFailed"
    r = await n.http.put(f"/v2.0/networks/{net['id']}", headers={
        **n.alice, "If-Match": "revision_number=0"}, json={"network": {"name": "x"}})
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == 1
    r = await n.req("PUT", f"networks/{net['id']}", n.alice, {"network": {"color": "red"}})
    assert r.status_code == 400
    assert r.json()["NeutronError"]["message"] == "Unrecognized attribute(s) 'color'"
