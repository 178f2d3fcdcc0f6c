"""Turn API rows (dicts) into instances of a user's dataclass or pydantic model.

Fields are matched by name: exactly, else ignoring case and underscores (so
``col_string1`` takes ``colString1``). Keys the model does not declare are
ignored. For dataclasses, values are converted where the field's type asks for
it: ``datetime`` from the platform's ``"YYYY-MM-DD HH:MM:SS"`` text (or from
unix seconds, as UTC), ``date`` from ``"YYYY-MM-DD"`` and ``Decimal`` from
numbers. Pydantic models validate rows themselves (``model_validate``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import types
import typing as t
from collections.abc import Callable, Mapping

from tap_openapi.errors import OpenAPIError

T = t.TypeVar("T")
Row = Mapping[str, t.Any]
Converter = Callable[[Row], T]

_MISSING = object()


class RowConversionError(OpenAPIError, ValueError):
    """A row does not fit the model (a required field missing, a bad value)."""


def _to_datetime(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Unix seconds (as updated_at is); naive values would shift with the
        # machine's time zone, so they come back as aware UTC datetimes.
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    return value


def _to_date(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _to_decimal(value: t.Any) -> t.Any:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return decimal.Decimal(str(value))
    return value


_PARSERS: dict[t.Any, Callable[[t.Any], t.Any]] = {
    dt.datetime: _to_datetime,
    dt.date: _to_date,
    decimal.Decimal: _to_decimal,
}


def _parser_for(annotation: t.Any) -> Callable[[t.Any], t.Any] | None:
    """Return the converter a field type needs, looking inside ``X | None``."""
    if annotation in _PARSERS:
        return _PARSERS[annotation]
    origin = t.get_origin(annotation)
    if origin is t.Union or origin is types.UnionType:
        members = [arg for arg in t.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _parser_for(members[0])
    return None


def _normalized(name: str) -> str:
    return name.replace("_", "").lower()


@dataclasses.dataclass(frozen=True)
class _FieldPlan:
    name: str
    parse: Callable[[t.Any], t.Any] | None
    required: bool


class DataclassConverter(t.Generic[T]):
    """Builds dataclass instances from rows; one instance per model.

    Args:
        model: A dataclass type.
    """

    def __init__(self, model: type[T]) -> None:
        self.model = model
        try:
            hints = t.get_type_hints(model)
        except (NameError, TypeError):
            # A forward reference that cannot be resolved: convert nothing,
            # still map by name.
            hints = {}
        self._fields = [
            _FieldPlan(
                name=field.name,
                parse=_parser_for(hints.get(field.name)),
                required=field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING,
            )
            for field in dataclasses.fields(model)  # type: ignore[arg-type]
            if field.init
        ]
        self._plan: list[tuple[str, str, Callable[[t.Any], t.Any] | None]] = []
        self._keys: frozenset[str] | None = None

    def _build_plan(self, row: Row) -> None:
        """Match fields to the row's keys once per distinct key set."""
        keys = frozenset(row)
        by_normal = {_normalized(key): key for key in keys}
        plan = []
        for field in self._fields:
            key = (
                field.name
                if field.name in keys
                else by_normal.get(_normalized(field.name))
            )
            if key is None:
                if field.required:
                    msg = (
                        f"{self.model.__name__}.{field.name} has no matching key "
                        f"in the row (keys: {', '.join(sorted(keys))})"
                    )
                    raise RowConversionError(msg)
                continue
            plan.append((field.name, key, field.parse))
        self._plan = plan
        self._keys = keys

    def __call__(self, row: Row) -> T:
        """Return ``model(**fields)`` for ``row``."""
        if (
            self._keys is None
            or len(row) != len(self._keys)
            or not (self._keys.issuperset(row))
        ):
            self._build_plan(row)
        values = {}
        for name, key, parse in self._plan:
            value = row[key]
            if parse is not None and value is not None:
                value = parse(value)
            values[name] = value
        return self.model(**values)


def _is_pydantic_model(model: type[t.Any]) -> bool:
    return callable(getattr(model, "model_validate", None)) and hasattr(
        model, "model_fields"
    )


def row_converter(model: type[T]) -> Converter[T]:
    """Return a function that turns one API row into a ``model`` instance.

    Args:
        model: A dataclass or a pydantic (v2) model class.

    Raises:
        TypeError: If ``model`` is neither.

    Example:
        >>> @dataclasses.dataclass
        ... class Item:
        ...     id: int
        ...     created: dt.datetime
        >>> row_converter(Item)({"id": 1, "created": "2024-05-01 10:00:00", "x": 0})
        Item(id=1, created=datetime.datetime(2024, 5, 1, 10, 0))
    """
    if _is_pydantic_model(model):
        return t.cast(Converter[T], model.model_validate)  # type: ignore[attr-defined]
    if dataclasses.is_dataclass(model) and isinstance(model, type):
        return DataclassConverter(model)
    msg = (
        f"model must be a dataclass or a pydantic model class, not {model!r}; "
        "pass model=None to get dicts"
    )
    raise TypeError(msg)
