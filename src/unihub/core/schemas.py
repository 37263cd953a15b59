"""Base for every request and response model.

Hubster clients send property names in any case (`echo` and `Echo` both occur), so request
models match keys case-insensitively; responses always use camelCase and omit nulls.
"""

from __future__ import annotations

import types
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """camelCase on the wire, keys matched ignoring case, unknown keys dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        strict=True,
    )

    _key_map: ClassVar[dict[str, str] | None] = None

    @classmethod
    def _null_is_absent(cls) -> frozenset[str]:
        # Aliases of optional fields that cannot hold None: a null there means "not sent"
        # (Newtonsoft writes nulls for unset properties). Nullable fields keep their null.
        cached = cls.__dict__.get("_null_absent_cache")
        if cached is None:
            cached = frozenset(
                field.alias or name
                for name, field in cls.model_fields.items()
                if not field.is_required() and not _admits_none(field.annotation)
            )
            type.__setattr__(cls, "_null_absent_cache", cached)
        return cached

    @classmethod
    def _keys(cls) -> dict[str, str]:
        # Built lazily per class: lower-cased wire name -> canonical alias.
        km = cls.__dict__.get("_key_map_cache")
        if km is None:
            km = {}
            for name, field in cls.model_fields.items():
                alias = field.alias or name
                km[alias.lower()] = alias
                km.setdefault(name.lower(), alias)
            type.__setattr__(cls, "_key_map_cache", km)
        return km

    @model_validator(mode="before")
    @classmethod
    def _casefold_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        km = cls._keys()
        absent = cls._null_is_absent()
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                continue
            canonical = km.get(key.lower())
            if value is None and canonical in absent:
                continue
            # First spelling wins when a client sends both `echo` and `Echo`.
            if canonical is not None and canonical not in out:
                out[canonical] = value
        return out

    def to_wire(self) -> dict[str, Any]:
        """The response shape: camelCase aliases, nulls omitted."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_none(arg) for arg in get_args(annotation))
    return False
