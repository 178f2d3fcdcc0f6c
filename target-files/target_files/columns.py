"""Turn a stream's JSON Schema into the ordered columns of a file.

Each property becomes one column, in the order the schema lists them. Its
``kind`` says how the writers render values: the JSON Schema ``type`` (minus
``null``) plus the ``format`` of strings (``date-time``, ``date``, ``time``).
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from target_files.errors import InputError

_JSON_TYPES = frozenset(
    {"string", "integer", "number", "boolean", "object", "array", "null"}
)
_DATELIKE_FORMATS = frozenset({"date-time", "date", "time"})


class Kind(str, enum.Enum):
    """How a column's values are rendered."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    DATE = "date"
    TIME = "time"
    JSON = "json"
    """Objects, arrays, and properties whose type is a mix or is not given."""


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of an output file.

    Attributes:
        name: The property name, used as the header.
        kind: How values are rendered.
    """

    name: str
    kind: Kind


def columns_from_schema(
    stream_name: str, schema: t.Mapping[str, t.Any]
) -> list[Column]:
    """Return the columns for a stream's schema, in schema order.

    Args:
        stream_name: The stream, for error messages.
        schema: The stream's JSON Schema (an object schema with ``properties``).

    Returns:
        One column per property.

    Raises:
        InputError: A property declares a type JSON Schema does not have.
    """
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        msg = f"Stream '{stream_name}': the SCHEMA message has no 'properties' object"
        raise InputError(msg)
    return [
        Column(name, _kind_of(stream_name, name, prop))
        for name, prop in properties.items()
    ]


def _kind_of(stream_name: str, name: str, prop: t.Any) -> Kind:
    types, formats = _collect(stream_name, name, prop)
    types.discard("null")
    if types == {"string"} and len(formats) == 1:
        return Kind(formats.pop())
    if types == {"integer", "number"}:
        return Kind.NUMBER
    if len(types) == 1:
        (only,) = types
        if only in {"object", "array"}:
            return Kind.JSON
        return Kind(only)
    # No type, or a real mix such as ["string", "integer"]: the writers render
    # each value by its own Python type, so nothing is lost.
    return Kind.JSON if not types or types & {"object", "array"} else Kind.STRING


def _collect(stream_name: str, name: str, prop: t.Any) -> tuple[set[str], set[str]]:
    """Gather the types and date-like formats a property schema allows."""
    if not isinstance(prop, dict):
        msg = (
            f"Stream '{stream_name}', property '{name}': the schema is "
            f"{type(prop).__name__} {prop!r}, expected a JSON Schema object"
        )
        raise InputError(msg)
    types: set[str] = set()
    formats: set[str] = set()
    declared = prop.get("type")
    if declared is not None:
        for json_type in [declared] if isinstance(declared, str) else declared:
            if json_type not in _JSON_TYPES:
                msg = (
                    f"Stream '{stream_name}', property '{name}': unknown JSON "
                    f"Schema type {json_type!r} (expected one of "
                    f"{', '.join(sorted(_JSON_TYPES))})"
                )
                raise InputError(msg)
            types.add(json_type)
        if prop.get("format") in _DATELIKE_FORMATS:
            formats.add(prop["format"])
    for branch in prop.get("anyOf", ()) or prop.get("oneOf", ()):
        branch_types, branch_formats = _collect(stream_name, name, branch)
        types |= branch_types
        formats |= branch_formats
    return types, formats
