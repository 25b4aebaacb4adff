"""POST /v2/images/{id}/import, and what this cloud offers: /v2/info/import, /v2/info/stores."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from overcast.common import faults
from overcast.common.app import Ctx, json_body
from overcast.image.api import Data, Imgs, Who
from overcast.image.api.images import image_target

router = APIRouter(tags=["import"])


@router.post("/v2/images/{image_id}/import", status_code=202)
async def import_image(image_id: str, request: Request, ctx: Ctx, images: Imgs, data: Data,
                       who: Who) -> Response:
    body = await json_body(request)
    method = body.get("method")
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        raise faults.BadRequest("Import request requires a 'method' object with a 'name'.")
    stores = body.get("stores")
    if stores is not None and (not isinstance(stores, list)
                               or not all(isinstance(x, str) for x in stores)):
        raise faults.BadRequest("'stores' must be a list of store ids.")
    all_stores = body.get("all_stores", False)
    if not isinstance(all_stores, bool) or (all_stores and stores):
        raise faults.BadRequest("Give either 'stores' or 'all_stores': true, not both.")
    image = await images.show(who, image_id)
    ctx.enforce("import_image", image_target(image))
    await data.start_import(image, method["name"], method.get("uri"), stores=stores,
                            all_stores=all_stores, user_id=ctx.user_id,
                            request_id=ctx.request_id, request=body)
    return Response(status_code=202)


@router.get("/v2/info/import")
async def import_info(data: Data) -> dict[str, Any]:
    return {"import-methods": {"description": "Import methods available.", "type": "array",
                               "value": data.import_methods()}}


@router.get("/v2/info/stores")
async def stores_info(data: Data) -> dict[str, Any]:
    stores = []
    for sid in data.stores:
        store: dict[str, Any] = {"id": sid, "description": f"Filesystem store {sid}"}
        if sid == data.default_store:
            store["default"] = True
        stores.append(store)
    return {"stores": stores}
