from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from unihub.core.schemas import ApiModel
from unihub.core.validation import trimmed_str


def _expiration(value: Any) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is read as UTC (the reference's
    example, `2030-01-31T00:00:00`, carries none)."""
    if not isinstance(value, str):
        raise PydanticCustomError("code_204", "is not a valid date")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("code_204", "is not a valid date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SecretCreate(ApiModel):
    name: Annotated[str, trimmed_str(256)]
    # Parsed before the (strict) datetime check, which would refuse every JSON string.
    expiration: Annotated[datetime, BeforeValidator(_expiration)] | None = None


class ClaimOut(ApiModel):
    type: str
    value: str


class SecretOut(ApiModel):
    id: int
    name: str
    token: str = Field(
        description="A prefix of the secret followed by `...`; in the answer "
        "to POST .../tokens, the whole secret (shown only that once)."
    )
    expiration: str | None = Field(default=None, examples=["2030-01-31T00:00:00.000000Z"])


class ClientOut(ApiModel):
    tenant_id: str
    client_id: str
    name: str
    enabled: bool
    allowed_scopes: list[str]
    claims: list[ClaimOut]
    secrets: list[SecretOut]
