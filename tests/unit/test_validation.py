"""core.validation: pydantic errors as error-model items."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator

from unihub.core.errors import ApiError
from unihub.core.schemas import ApiModel
from unihub.core.validation import validate_model


class _Body(ApiModel):
    kind: str | int | None = None
    size: int = 0
    note: Annotated[str, AfterValidator(str.strip)] | int | None = None
    label: str | None = None


def _errors(data: dict[str, object]) -> list[tuple[int, str]]:
    with pytest.raises(ApiError) as caught:
        validate_model(_Body, data)
    return [(e.code, e.description) for e in caught.value.errors]


def test_union_members_are_one_problem_without_branch_tags() -> None:
    assert _errors({"Kind": [1], "note": {}}) == [
        (302, "Property 'kind' has an invalid type: expected string or integer."),
        (302, "Property 'note' has an invalid type: expected string or integer."),
    ]


def test_null_on_an_optional_property_is_absent() -> None:
    # `size` cannot hold null: the client's null means "not sent"; `label` keeps its null.
    body = validate_model(_Body, {"Size": None, "kind": None, "label": None})
    assert body.size == 0 and body.kind is None
    assert "label" in body.model_fields_set and "size" not in body.model_fields_set
