from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from unihub.core.schemas import ApiModel
from unihub.core.validation import TrimmedName, reject_null, trimmed_str

HUB_ACTIVE = 2000
HUB_PAUSED = 2002


def _hub_status(value: int) -> int:
    if value not in (HUB_ACTIVE, HUB_PAUSED):
        raise PydanticCustomError(
            "code_206",
            "value {value} is not supported; allowed: 2000 (Active), 2002 (Paused)",
            {"value": value},
        )
    return value


HubStatus = Annotated[int, AfterValidator(_hub_status)]
Description = Annotated[str, trimmed_str(1024, min_length=0)]
DormantDays = Annotated[int, Field(ge=0, le=3650)]


class HubCreate(ApiModel):
    name: TrimmedName
    description: Description
    close_dormant_conversation: DormantDays | None = None
    status_id: HubStatus = HUB_ACTIVE


class HubUpdate(ApiModel):
    """Absent = unchanged; null clears `closeDormantConversation`; null elsewhere is an error."""

    name: TrimmedName | None = None
    description: Description | None = None
    close_dormant_conversation: DormantDays | None = None
    status_id: HubStatus | None = None

    _no_null = field_validator("name", "description", "status_id", mode="before")(reject_null)

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class HubOut(ApiModel):
    hub_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    description: str
    close_dormant_conversation: int | None = None
    status_id: int
    created: str = Field(examples=["2020-10-13T02:42:26.993210Z"])
    modified: str = Field(examples=["2020-10-13T02:42:26.993210Z"])
