from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from unihub.core.auth import Context
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.responses import JSON
from unihub.core.validation import parse_guid
from unihub.webchat import service

router = APIRouter(tags=["engine"])


class WebChatToken(BaseModel):
    access_token: str
    token_type: str
    expires_in: int  # minutes, as the reference's .NET client reads it
    scope: str


@router.get(
    "/api/v1/integrations/web-chat/token/{integrationId}",
    response_model=WebChatToken,
    responses=error_responses(400, 403, 404, *COMMON_ERRORS),
    summary="A one-hour token for a WebChat visitor (the Origin must be an allowed origin)",
)
async def webchat_token(integrationId: str, request: Request, ctx: Context) -> Response:
    iid = parse_guid(str(integrationId), "integrationId")
    origin = request.headers.get("origin")
    answer = JSON(await service.issue_token(ctx, iid, origin))
    # Only an allowed origin gets here, so the browser may read the answer.
    answer.headers["Access-Control-Allow-Origin"] = str(origin)
    answer.headers["Vary"] = "Origin"
    return answer
