"""Streams declared in the ``streams`` setting.

Each item of ``streams`` names one paged API of the platform::

    {"name": "fakewithts", "path": "/api/v1/sync/fakewithts",
     "primary_keys": ["id"], "replication_key": "updated_at",
     "include_deleted": true}

The stream behaviour (paging, retries, bookmarks) lives in
:class:`tap_openapi.client.OpenAPIStream`; this module only reads the item.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing as t

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from tap_openapi.errors import ConfigurationError

#: Keys a ``streams`` item may have.
STREAM_KEYS = (
    "name",
    "path",
    "primary_keys",
    "replication_key",
    "incremental_param",
    "params",
    "include_deleted",
    "schema",
    "records_path",
    "incremental_paging",
)

#: How incremental streams page (``incremental_paging``). Keyset re-anchors
#: every request at the last row read, so rows changed behind the cursor
#: cannot shift rows ahead of it out of reach; offset reads pages
#: concurrently but can skip a row when rows already read change mid-sync.
INCREMENTAL_PAGING_MODES = ("keyset", "offset")

#: Property names a key message lists before it says "... and N more".
_LISTED_PROPERTIES = 20

#: The flag the platform reads to include soft-deleted rows.
INCLUDE_DELETED_PARAM = "full"
#: The column that flags a soft-deleted row.
DELETED_MARK = "deleted_mark"
#: The Singer column that tells targets a row was deleted.
SDC_DELETED_AT = "_sdc_deleted_at"


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """One item of the ``streams`` setting.

    Attributes:
        name: Stream name (tap_stream_id, target table name).
        path: API path, e.g. ``/api/v1/sync/fake``.
        primary_keys: Key columns.
        replication_key: Column to bookmark (``updated_at``); None for full table.
        incremental_param: Query parameter that takes the bookmark.
        params: Extra query parameters sent with every request.
        include_deleted: Send ``full=1`` and mark ``deleted_mark=1`` rows deleted.
        schema: JSON Schema of the rows; None means inferred from a sample page.
        records_path: Dotted path of the rows in the envelope.
        incremental_paging: ``"keyset"`` (sequential, safe while rows change)
            or ``"offset"`` (concurrent); only incremental streams use it.
    """

    name: str
    path: str
    primary_keys: tuple[str, ...] = ()
    replication_key: str | None = None
    incremental_param: str = "ts"
    params: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    include_deleted: bool = False
    schema: t.Mapping[str, t.Any] | None = None
    records_path: str = "data.rows"
    incremental_paging: str = "keyset"

    @classmethod
    def from_config(cls, item: t.Mapping[str, t.Any], index: int) -> StreamSettings:
        """Read and check one ``streams`` item.

        Args:
            item: The item as found in the settings.
            index: Its position, for messages.

        Returns:
            The stream settings.

        Raises:
            ConfigurationError: If a key is unknown or a value is wrong.
        """
        where = f"streams[{index}]"
        unknown = sorted(set(item) - set(STREAM_KEYS))
        if unknown:
            raise ConfigurationError(
                unknown_key_message(unknown[0], STREAM_KEYS, where)
            )
        name = item.get("name")
        path = item.get("path")
        if not isinstance(name, str) or not name:
            msg = f"Setting {where}.name is required (a non-empty string)"
            raise ConfigurationError(msg)
        if not isinstance(path, str) or not path:
            msg = f"Setting {where}.path is required for stream '{name}'"
            raise ConfigurationError(msg)
        schema = item.get("schema")
        primary_keys = tuple(item.get("primary_keys") or ())
        replication_key = item.get("replication_key") or None
        if schema is not None:
            _check_schema(schema, f"{where}.schema", name)
            problem = missing_key(primary_keys, replication_key, schema)
            if problem is not None:
                setting, key = problem
                msg = (
                    f"Setting {where}.{setting} of stream '{name}' names '{key}', "
                    f"which is not a property of {where}.schema "
                    f"({describe_properties(schema)}): add '{key}' to the "
                    f"schema's properties or correct {setting}"
                )
                raise ConfigurationError(msg)
        paging = item.get("incremental_paging") or "keyset"
        if paging not in INCREMENTAL_PAGING_MODES:
            modes = " or ".join(f"'{mode}'" for mode in INCREMENTAL_PAGING_MODES)
            msg = f"Setting {where}.incremental_paging of stream '{name}' must be "
            msg += f"{modes}, got {paging!r}"
            raise ConfigurationError(msg)
        return cls(
            name=name,
            path=path if path.startswith("/") else "/" + path,
            primary_keys=primary_keys,
            replication_key=replication_key,
            incremental_param=item.get("incremental_param") or "ts",
            params=dict(item.get("params") or {}),
            include_deleted=bool(item.get("include_deleted", False)),
            schema=schema,
            records_path=item.get("records_path") or "data.rows",
            incremental_paging=paging,
        )


def _check_schema(schema: t.Any, where: str, name: str) -> None:
    """Raise unless ``schema`` is a JSON Schema object with ``properties``."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        msg = f"Setting {where} of stream '{name}' has no 'properties'"
        raise ConfigurationError(msg)
    validator = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    error = jsonschema.exceptions.best_match(
        validator(validator.META_SCHEMA).iter_errors(schema)
    )
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path)
        msg = f"Setting {where} of stream '{name}' is not a valid JSON Schema: "
        msg += f"{error.message}" + (f" at {at}" if at else "")
        raise ConfigurationError(msg)


def missing_key(
    primary_keys: t.Iterable[str],
    replication_key: str | None,
    schema: t.Mapping[str, t.Any],
) -> tuple[str, str] | None:
    """Find a key column that ``schema`` does not declare.

    A replication key missing from the schema makes singer-sdk fail at the
    first bookmark; a missing primary key gives targets records without
    their key. Both are caught before any row is read.

    Args:
        primary_keys: The stream's key columns.
        replication_key: Its bookmark column, if incremental.
        schema: Its JSON Schema.

    Returns:
        ``("primary_keys" or "replication_key", column)`` for the first
        missing one, else None.
    """
    properties = schema.get("properties") or {}
    for key in primary_keys:
        if key not in properties:
            return "primary_keys", key
    if replication_key and replication_key not in properties:
        return "replication_key", replication_key
    return None


def describe_properties(schema: t.Mapping[str, t.Any]) -> str:
    """``"its properties: a, b, c"``, shortened past a few dozen names.

    Args:
        schema: A JSON Schema.

    Returns:
        The phrase, for a message about a key missing from the schema.
    """
    names = list(schema.get("properties") or {})
    if not names:
        return "it has no properties"
    shown = ", ".join(names[:_LISTED_PROPERTIES])
    if len(names) > _LISTED_PROPERTIES:
        shown += f", ... and {len(names) - _LISTED_PROPERTIES} more"
    return f"its properties: {shown}"


def unknown_key_message(key: str, valid: t.Iterable[str], where: str = "") -> str:
    """Say that ``key`` is not a known setting and suggest the nearest one.

    Args:
        key: The unknown key.
        valid: The known keys.
        where: Where the key was found (``"streams[0]"``), if not top level.

    Returns:
        A one-line message.
    """
    name = f"{where}.{key}" if where else key
    msg = f"Unknown setting '{name}'"
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    if close:
        msg += f"; did you mean '{close[0]}'?"
    return msg


def parse_streams(items: t.Any) -> list[StreamSettings]:
    """Read the whole ``streams`` setting.

    Args:
        items: The setting's value.

    Returns:
        The stream settings, in the order given.

    Raises:
        ConfigurationError: If an item is wrong or two share a name.
    """
    if not items:
        return []
    streams = [StreamSettings.from_config(item, i) for i, item in enumerate(items)]
    seen: set[str] = set()
    for stream in streams:
        if stream.name in seen:
            msg = f"Two items of setting 'streams' are named '{stream.name}'"
            raise ConfigurationError(msg)
        seen.add(stream.name)
    return streams
