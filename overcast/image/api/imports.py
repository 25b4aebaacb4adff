"""POST /v2/images/{id}/import, and what this cloud offers: /v2/info/import, /v2/info/stores."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ConfigDict, StrictBool, model_validator

from overcast.common.app import Ctx
from overcast.image.api import Data, Imgs, Who
from overcast.image.api.bodies import Body, Str255
from overcast.image.api.images import image_target

router = APIRouter(tags=["import"])


class ImportMethod(Body):
    """How the data comes: glance-direct (staged), web-download (uri) or copy-image."""

    glance_schema = "import"
    model_config = ConfigDict(extra="ignore")  # glance-download's fields, not offered here

    name: Str255
    uri: str | None = None


class ImportRequest(Body):
    """POST /v2/images/{id}/import."""

    glance_schema = "import"
    model_config = ConfigDict(extra="ignore")

    method: ImportMethod
    stores: list[Str255] | None = None
    all_stores: StrictBool = False
    all_stores_must_succeed: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _glance_words(cls, data: Any) -> Any:
        if isinstance(data, dict):
            method = data.get("method")
            if not isinstance(method, dict) or not isinstance(method.get("name"), str):
                raise ValueError("Import request requires a 'method' object with a 'name'.")
            for key in ("all_stores", "all_stores_must_succeed"):
                if key in data and not isinstance(data[key], bool):
                    raise ValueError(f"'{key}' must be boolean value only")
            if data.get("all_stores") and data.get("stores"):
                raise ValueError("Give either 'stores' or 'all_stores': true, not both.")
        return data


@router.post("/v2/images/{image_id}/import", status_code=202)
async def import_image(image_id: str, body: ImportRequest, ctx: Ctx, images: Imgs, data: Data,
                       who: Who) -> Response:
    image = await images.show(who, image_id)
    ctx.enforce("import_image", image_target(image))
    await data.start_import(image, body.method.name, body.method.uri, stores=body.stores,
                            all_stores=body.all_stores, user_id=ctx.user_id,
                            request_id=ctx.request_id,
                            request=body.model_dump(exclude_unset=True))
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
