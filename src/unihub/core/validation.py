"""Request validation: JSON bodies, path GUIDs, and pydantic errors -> error-model items.

Each pydantic error type maps to one reference code, so every domain reports problems the same
way. Custom validators choose a code by raising `PydanticCustomError("code_NNN", message)`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from unihub.core.errors import ApiError, ErrorItem

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_JSON_TYPE = {
    "string_type": "string",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "list_type": "array",
    "model_type": "object",
    "model_attributes_type": "object",
    "dict_type": "object",
    "uuid_type": "GUID string",
}


# Components pydantic puts into `loc` for the member of a plain union it tried
# (`channelType.str`, `url.function-after[...]`): not properties of the request.
_BRANCH_TAGS = frozenset(
    {"str", "int", "float", "bool", "none", "bytes", "decimal", "uuid", "list", "dict", "set"}
)


# `function-after[...]`, `literal['a']`, `list[str]`, but not a rendered `responses[1]`.
_BRANCH_CALL = re.compile(r"^[a-z][a-z-]*\[(?!\d+\])")


def _is_branch_tag(part: str) -> bool:
    return (
        part in _BRANCH_TAGS
        or part.startswith(("constrained-", "lax-"))
        or _BRANCH_CALL.match(part) is not None
    )


def loc_path(loc: Sequence[int | str]) -> str:
    """`("responses", 1, "title")` -> `responses[1].title`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 64 else text[:61] + "..."


def _item(err: Mapping[str, Any], where: str) -> ErrorItem:
    etype: str = err["type"]
    loc = [
        p
        for p in err.get("loc", ())
        if p not in ("body", "query", "path") and not (isinstance(p, str) and _is_branch_tag(p))
    ]
    name = loc_path(loc) or "body"
    ctx = err.get("ctx") or {}
    value = err.get("input")

    if etype.startswith("code_"):
        # Custom messages are predicates ("must not be blank") completed with the property.
        return ErrorItem(int(etype[5:]), f"Property '{name}' {str(err['msg']).rstrip('.')}.")
    if etype == "missing":
        if where == "query":
            return ErrorItem(200, f"Query parameter '{name}' is required.")
        return ErrorItem(301, f"Property '{name}' is required.")
    if etype in ("uuid_parsing", "uuid_type"):
        code = 305 if where == "body" else 203
        return ErrorItem(code, f"Value '{_short(value)}' of '{name}' is not a valid GUID.")
    if etype in ("int_parsing", "int_from_float") and where in ("query", "path"):
        return ErrorItem(210, f"Parameter '{name}' must be an integer, got '{_short(value)}'.")
    if etype.startswith(("datetime", "date_")):
        return ErrorItem(204, f"Value '{_short(value)}' of '{name}' is not a valid date.")
    if etype in _JSON_TYPE:
        return ErrorItem(
            302, f"Property '{name}' has an invalid type: expected {_JSON_TYPE[etype]}."
        )
    if etype in ("literal_error", "enum", "union_tag_invalid"):
        expected = ctx.get("expected") or ctx.get("expected_tags") or ""
        return ErrorItem(
            206,
            f"Value '{_short(value)}' of '{name}' is not supported"
            + (f"; allowed: {expected}." if expected else "."),
        )
    if etype == "union_tag_not_found":
        return ErrorItem(301, f"Property '{name}.{ctx.get('discriminator', 'type')}' is required.")
    if etype in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        if limit == 0 and etype == "greater_than_equal":
            return ErrorItem(209, f"Property '{name}' must be greater than or equal to 0.")
        return ErrorItem(207, f"Property '{name}' must be at least {limit}.")
    if etype in ("less_than_equal", "less_than"):
        return ErrorItem(207, f"Property '{name}' must be at most {ctx.get('le', ctx.get('lt'))}.")
    if etype == "string_too_long":
        return ErrorItem(
            207, f"Property '{name}' is longer than {ctx.get('max_length')} characters."
        )
    if etype == "too_long":
        return ErrorItem(207, f"Property '{name}' has more than {ctx.get('max_length')} items.")
    if etype == "string_too_short":
        return ErrorItem(301, f"Property '{name}' must not be empty.")
    if etype == "too_short":
        return ErrorItem(306, f"Property '{name}' must contain at least one element.")
    if etype == "location_required":
        return ErrorItem(308, f"Property '{name}' needs an address and/or latitude and longitude.")
    if etype in ("url_parsing", "url_scheme", "url_type"):
        return ErrorItem(202, f"Property '{name}' must be an absolute http or https URL.")
    return ErrorItem(302, f"Property '{name}' is not valid: {err.get('msg', 'bad value')}.")


def errors_from_pydantic(
    errors: Iterable[Mapping[str, Any]], where: str | None = None
) -> list[ErrorItem]:
    """Every pydantic error as an error-model item, de-duplicated, in input order."""
    seen: set[tuple[int, str]] = set()
    items: list[ErrorItem] = []
    # One wrong-type problem per property: a union's members each report theirs.
    typed: dict[str, tuple[int, list[str]]] = {}
    for err in errors:
        loc = err.get("loc", ())
        origin = where or (str(loc[0]) if loc and loc[0] in ("body", "query", "path") else "body")
        item = _item(err, origin)
        expected = _JSON_TYPE.get(err["type"])
        if item.code == 302 and expected is not None:
            at = item.description.split("' has an invalid type", 1)[0]
            if at in typed:
                index, names = typed[at]
                if expected not in names:
                    names.append(expected)
                    items[index] = ErrorItem(
                        302, f"{at}' has an invalid type: expected {' or '.join(names)}."
                    )
                continue
            typed[at] = (len(items), [expected])
        if (item.code, item.description) not in seen:
            seen.add((item.code, item.description))
            items.append(item)
    return items


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400/300 when it is absent, not JSON or not an object."""
    if not raw.strip():
        raise ApiError.one(400, 300, "Request body is missing; a JSON object is required.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError.one(400, 300, "Request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError.one(400, 300, "Request body must be a JSON object.")
    # PostgreSQL text cannot hold NUL; refuse it on every backend alike (found by fuzzing).
    if b"\\u0000" in raw and _has_nul(data):
        raise ApiError.one(400, 300, "Request body contains a NUL character (\\u0000) in text.")
    return data


def get_ignoring_case(data: Mapping[str, Any], key: str) -> Any:
    """The value of the first key equal to `key` ignoring case, else None.

    Clients send property names in any case (`echo` and `Echo`), and `ApiModel` accepts them
    so; code that reads a body beside its model must find the same value, so the first
    spelling wins here as it does there.
    """
    wanted = key.lower()
    return next((v for k, v in data.items() if isinstance(k, str) and k.lower() == wanted), None)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class JsonBody:
    """A request's JSON body as endpoints hand it to services: read, not yet judged.

    The order of checks puts the existence of the resource a path names (404) before the
    body (400), so the service parses it (`object()`) after its lookups. Engine glue that
    already holds a dict (provider webhooks) passes it as is (`JsonBody.of`): no re-encoding.
    """

    raw: bytes = b""
    parsed: dict[str, Any] | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> JsonBody:
        return cls(parsed=dict(data))

    def object(self) -> dict[str, Any]:
        """The body as a JSON object, or 400/300 (see `parse_json_object`)."""
        if self.parsed is not None:
            return self.parsed
        return parse_json_object(self.raw)


def validate_model(model: type[M], data: Mapping[str, Any], root: str = "") -> M:
    """Validate into `model`, or raise one ApiError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, errors_from_pydantic(_rooted(exc, root), "body")) from None


def validate_model_into(
    model: type[M], data: Mapping[str, Any], errors: list[ErrorItem]
) -> M | None:
    """`validate_model` for a body checked in several parts: its problems go to `errors` (and
    None is returned) so that one 400 can list the problems of every part."""
    try:
        return validate_model(model, data)
    except ApiError as exc:
        errors.extend(exc.errors)
        return None


def _rooted(exc: ValidationError, root: str) -> list[dict[str, Any]]:
    errs = [dict(e) for e in exc.errors(include_url=False)]
    if root:
        for e in errs:
            e["loc"] = (root, *e["loc"])  # type: ignore[misc]
    return errs


def parse_guid(value: str, name: str) -> uuid.UUID:
    """A GUID from the path or query; 400/203 names the parameter when it is malformed."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise ApiError.one(
            400, 203, f"Value '{_short(value)}' of '{name}' is not a valid GUID."
        ) from None


MAX_EVENT_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_character(text: str) -> bool:
    """C0 controls and DEL: no identifier, credential or query value of this API has one."""
    return _CONTROL.search(text) is not None


def parse_event_cursor(value: str | None, name: str = "leid") -> int:
    """An eventId cursor from the query: absent or blank is 0."""
    if value is None or not value.strip():
        return 0
    try:
        cursor = int(value)
    except ValueError:
        raise ApiError.one(
            400, 210, f"Parameter '{name}' must be an integer, got '{_short(value)}'."
        ) from None
    if cursor < 0:
        raise ApiError.one(400, 209, f"Parameter '{name}' must be greater than or equal to 0.")
    if cursor > MAX_EVENT_ID:
        # eventIds are 64-bit signed in the database: a larger cursor cannot be compared.
        raise ApiError.one(400, 207, f"Parameter '{name}' must be at most {MAX_EVENT_ID}.")
    return cursor


def trimmed_str(max_length: int, min_length: int = 1) -> Any:
    """`Annotated[str, trimmed_str(128)]`: stripped, then length-checked with named codes."""

    def check(value: str) -> str:
        value = value.strip()
        if len(value) < min_length:
            raise PydanticCustomError("code_301", "must not be blank")
        if len(value) > max_length:
            raise PydanticCustomError(
                "code_207", "is longer than {max} characters", {"max": max_length}
            )
        return value

    return AfterValidator(check)


TrimmedName = Annotated[str, trimmed_str(128)]


def reject_null(value: Any, info: Any) -> Any:
    """For update models: null on a property that cannot be cleared is a type error."""
    if value is None:
        raise PydanticCustomError("code_302", "cannot be null")
    return value
