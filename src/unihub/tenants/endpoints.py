from __future__ import annotations

from fastapi import APIRouter, Request, Response

from unihub.core.auth import PortalCaller
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.openapi import json_body
from unihub.core.responses import JSON
from unihub.core.validation import JsonBody
from unihub.tenants import service
from unihub.tenants.schemas import ClientOut, SecretCreate, SecretOut

router = APIRouter(prefix="/api/v1/tenants/clients", tags=["tenants"])


@router.get(
    "/{clientId}",
    response_model=ClientOut,
    responses=error_responses(404, *COMMON_ERRORS),
    summary="Get one of the tenant's API clients (secrets shown as prefixes)",
)
async def get_client(clientId: str, caller: PortalCaller) -> Response:
    return JSON(await service.get_client(caller.ctx, caller.tenant_id, clientId))


@router.post(
    "/{clientId}/tokens",
    response_model=SecretOut,
    responses=error_responses(400, 404, *COMMON_ERRORS),
    openapi_extra=json_body(SecretCreate),
    summary="Add a client secret; the answer is the only time its value is shown",
)
async def add_token(clientId: str, request: Request, caller: PortalCaller) -> Response:
    body = JsonBody(await request.body())
    return JSON(await service.add_secret(caller.ctx, caller.tenant_id, clientId, body))


@router.delete(
    "/{clientId}/tokens/{tokenId}",
    responses={
        200: {"description": "Deleted and revoked; empty body"},
        **error_responses(400, 404, *COMMON_ERRORS),
    },
    summary="Delete (revoke) a client secret; the last valid one cannot be deleted (403/110)",
)
async def delete_token(clientId: str, tokenId: str, caller: PortalCaller) -> Response:
    secret_id = service.parse_secret_id(tokenId)
    await service.delete_secret(caller.ctx, caller.tenant_id, clientId, secret_id)
    return Response(status_code=200)
