"""POST /v2/images/{id}/import, and what this cloud offers: /v2/info/import, /v2/info/stores."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ConfigDict, StrictBool, model_validator

from overcast.common.api import policy
from overcast.common.app import Ctx
from overcast.image.api import Data
from overcast.image.api.bodies import Body, Str255
from overcast.image.data import ImportAsk

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

    def ask(self) -> ImportAsk:
        return ImportAsk(method=self.method.name, uri=self.method.uri, stores=self.stores,
                         all_stores=self.all_stores, request=self.model_dump(exclude_unset=True))


@router.post("/v2/images/{image_id}/import", status_code=202,
             **policy("import_image", "context_is_admin"))
async def import_image(image_id: str, body: ImportRequest, ctx: Ctx, data: Data) -> Response:
    await data.start_import(ctx, image_id, body.ask())
    return Response(status_code=202)


@router.get("/v2/info/import", **policy("default"))
async def import_info(ctx: Ctx, data: Data) -> dict[str, Any]:
    ctx.enforce("default", {"project_id": ctx.project_id})
    return {"import-methods": {"description": "Import methods available.", "type": "array",
                               "value": data.import_methods()}}


@router.get("/v2/info/stores", **policy("default"))
async def stores_info(ctx: Ctx, data: Data) -> dict[str, Any]:
    ctx.enforce("default", {"project_id": ctx.project_id})
    stores = []
    for sid in data.stores:
        # As Glance's: no description unless one is configured (none can be here), and
        # `default` is the string "true" on the default store only.
        store: dict[str, Any] = {"id": sid}
        if sid == data.default_store:
            store["default"] = "true"
        stores.append(store)
    return {"stores": stores}
