"""`schema_error` words a refusal as Glance does: jsonschema's `str(best_match(...))` against the
image schema (glance/schema.py). jsonschema itself (installed for the tests) is the oracle."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.image.api.schemas import IMAGE_SCHEMA, schema_error

jsonschema = pytest.importorskip("jsonschema")


def glance_says(value: Any) -> str | None:
    """What Glance's Schema.validate would put after "...schema 'image': "."""
    validator = jsonschema.validators.validator_for(IMAGE_SCHEMA)(IMAGE_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    return None if error is None else str(error)


CASES: list[Any] = [
    {"min_ram": "lots"}, {"disk_format": "floppy"}, {"disk_format": 5}, {"disk_format": None},
    {"name": "x" * 300}, {"name": 5}, {"id": "nope"}, {"visibility": "everyone"},
    {"protected": "yes"}, {"min_ram": 1.0}, {"min_ram": True}, {"kernel_id": "bad"},
    {"min_ram": "x", "disk_format": "floppy"}, {"zeta": 1, "min_ram": "x"}, {"tags": [1], "name": 1},
    {"prop": 5}, {"a": 5, "b": None}, {"tags": ["a" * 256]}, {"tags": [1, "b", 2]}, {"tags": "abc"},
    {"locations": [{"url": "x"}]},
    {"locations": [{"url": "x", "metadata": {}, "validation_data": {"checksum": "a"}}]},
    {"locations": [{"url": "x", "metadata": {}, "validation_data": {
        "os_hash_algo": "a", "os_hash_value": "b", "z": 1, "y": 2}}]},
    {"min_ram": [1, 2, {"a": "b" * 80}]}, {"description": {"k": "v" * 100}}, {"name": "ok"},
]


@pytest.mark.parametrize("value", CASES)
def test_chosen_bodies(value: Any) -> None:
    assert schema_error(IMAGE_SCHEMA, value) == glance_says(value)


_KEYS = st.sampled_from([*IMAGE_SCHEMA["properties"], "prop", "zz", "aa"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "raw", "ami", "public", "x" * 256, "0badc0de-0000-4000-8000-00000000cafe"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["url", "metadata", "validation_data", "os_hash_algo", "k"]), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_any_body(value: dict[str, Any]) -> None:
    assert schema_error(IMAGE_SCHEMA, value) == glance_says(value)
