"""/openapi-image.json describes every operation, request bodies included (issue 8: "Pydantic
models for every request body, Image's included")."""

from __future__ import annotations

from tests.functional.image.conftest import Glance

#: Writes whose request has no body in Glance's API.
NO_BODY = {("POST", "/v2/images/{image_id}/actions/deactivate"),
           ("POST", "/v2/images/{image_id}/actions/reactivate"),
           ("PUT", "/v2/images/{image_id}/tags/{tag}"),
           ("POST", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}")}


async def test_every_write_documents_its_body(glance: Glance) -> None:
    r = await glance.http.get("/openapi-image.json", headers=glance.alice)
    assert r.status_code == 200, r.text
    doc = r.json()
    schemas = doc["components"]["schemas"]
    writes = [(method.upper(), path, op) for path, ops in doc["paths"].items()
              for method, op in ops.items() if method in ("post", "put", "patch")]
    assert len(writes) >= 20
    for method, path, op in writes:
        if (method, path) in NO_BODY:
            assert "requestBody" not in op, (method, path)
            continue
        body = op.get("requestBody")
        assert body and body["content"], (method, path)
        for media, content in body["content"].items():
            schema = content["schema"]
            ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
            if ref:
                assert ref.split("/")[-1] in schemas, (method, path, ref)
            else:
                assert schema.get("type") in ("array", "object", "string"), (method, path, media)
    create = doc["paths"]["/v2/images"]["post"]["requestBody"]["content"]["application/json"]
    image = schemas[create["schema"]["$ref"].split("/")[-1]]
    assert image["additionalProperties"] == {"type": "string", "maxLength": 65535}
    assert set(image["properties"]["disk_format"]["anyOf"][0]["enum"]) >= {"qcow2", "raw"}
    patch = doc["paths"]["/v2/images/{image_id}"]["patch"]["requestBody"]["content"]
    assert set(patch) == {"application/openstack-images-v2.1-json-patch",
                          "application/openstack-images-v2.0-json-patch"}
