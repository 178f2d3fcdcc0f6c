"""tap-openapi: the Singer tap for the paginated, OAuth2-protected platform."""

from __future__ import annotations

import functools
import logging
import sys
import typing as t
import urllib.parse
from functools import cached_property

import click
import jsonschema
import requests
import requests.adapters
import urllib3
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import (
    ConfigValidationError,
    FatalAPIError,
    InvalidReplicationKeyException,
    InvalidStreamSortException,
    MappingError,
    RetriableAPIError,
)
from singer_sdk.plugin_base import JSONSchemaValidator, SingerCommand

from tap_openapi import redaction
from tap_openapi.auth import TokenManager
from tap_openapi.authenticator import TokenManagerAuthenticator
from tap_openapi.client import Connection, OpenAPIStream
from tap_openapi.defaults import (
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_START_TS,
    MAX_PAGE_SIZE,
    default_user_agent,
)
from tap_openapi.errors import ConfigurationError, OpenAPIError
from tap_openapi.fetcher import limit_malloc_arenas
from tap_openapi.streams import parse_streams, unknown_key_message
from tap_openapi.writer import BufferedJSONWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.streams import Stream

logger = logging.getLogger(__name__)

GRANT_TYPES = ["client_credentials", "password", "authorization_code", "refresh_token"]

#: Errors a user can act on: reported as one line, exit code 1, no traceback.
#: The tap checks key columns itself (naming the setting to fix); singer-sdk's
#: InvalidReplicationKeyException stays here in case a path escapes that check.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    OpenAPIError,
    FatalAPIError,
    RetriableAPIError,
    InvalidStreamSortException,
    InvalidReplicationKeyException,
)

_STREAM_ITEM = th.ObjectType(
    th.Property(
        "name",
        th.StringType,
        required=True,
        title="Stream name",
        description="Name of the stream (and of the target table).",
    ),
    th.Property(
        "path",
        th.StringType,
        required=True,
        title="API path",
        description="Path of the paged API, e.g. /api/v1/sync/fake.",
    ),
    th.Property(
        "primary_keys",
        th.ArrayType(th.StringType),
        title="Primary keys",
        description="Columns that identify a row.",
    ),
    th.Property(
        "replication_key",
        th.StringType,
        title="Replication key",
        description=(
            "Column to bookmark for incremental sync (e.g. updated_at); "
            "absent means full table."
        ),
    ),
    th.Property(
        "incremental_param",
        th.StringType,
        default="ts",
        title="Incremental parameter",
        description="Query parameter that receives the bookmark (rows >= it).",
    ),
    th.Property(
        "params",
        th.ObjectType(additional_properties=True),
        title="Extra parameters",
        description="Extra query parameters sent with every request.",
    ),
    th.Property(
        "include_deleted",
        th.BooleanType,
        default=False,
        title="Include deleted rows",
        description=(
            "Send full=1 and give rows with deleted_mark=1 an _sdc_deleted_at "
            "so targets delete them."
        ),
    ),
    th.Property(
        "schema",
        th.ObjectType(additional_properties=True),
        title="Schema",
        description="JSON Schema of the rows; absent means inferred from a sample.",
    ),
    th.Property(
        "records_path",
        th.StringType,
        default="data.rows",
        title="Records path",
        description="Dotted path of the rows in the response envelope.",
    ),
    th.Property(
        "incremental_paging",
        th.StringType,
        default="keyset",
        allowed_values=["keyset", "offset"],
        title="Incremental paging",
        description=(
            "keyset: each request starts at the last row read, so rows changed "
            "mid-sync are not skipped (sequential). offset: pages read "
            "concurrently (faster), but a row can be skipped when rows already "
            "read change mid-sync; a full resync brings it back."
        ),
    ),
)


class TapOpenAPI(Tap):
    """Singer tap for the paginated, OAuth2-protected OpenAPI platform."""

    name = "tap-openapi"
    # The catalog comes from the settings and sample pages: validate before
    # discovery too.
    dynamic_catalog = True
    message_writer_class = BufferedJSONWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            required=True,
            title="Base URL",
            description="Root URL of the platform, e.g. https://api.example.com.",
        ),
        th.Property(
            "token_url",
            th.StringType,
            title="Token URL",
            description="OAuth2 token endpoint; default {base_url}/oauth2/token.",
        ),
        th.Property(
            "authorize_url",
            th.StringType,
            title="Authorize URL",
            description=(
                "OAuth2 authorize endpoint; default {base_url}/oauth2/authorize."
            ),
        ),
        th.Property(
            "grant_type",
            th.StringType,
            default="client_credentials",
            allowed_values=GRANT_TYPES,
            title="Grant type",
            description="OAuth2 grant used to get access tokens.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            title="Client ID",
            description="OAuth2 client identifier.",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            title="Client secret",
            description="OAuth2 client secret.",
        ),
        th.Property(
            "client_auth_method",
            th.StringType,
            default="basic",
            allowed_values=["basic", "post"],
            title="Client authentication",
            description=(
                "How the client authenticates to the token endpoint: HTTP Basic "
                "or client_id/client_secret form fields."
            ),
        ),
        th.Property(
            "username",
            th.StringType,
            title="Username",
            description="Resource owner's user name (password grant).",
        ),
        th.Property(
            "password",
            th.StringType,
            secret=True,
            title="Password",
            description="Resource owner's password (password grant).",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            secret=True,
            title="Refresh token",
            description=(
                "Refresh token (refresh_token grant, or from tap-openapi-login)."
            ),
        ),
        th.Property(
            "token_cache_path",
            th.StringType,
            title="Token cache path",
            description="File that keeps rotated refresh tokens between runs.",
        ),
        th.Property(
            "redirect_uri",
            th.StringType,
            title="Redirect URI",
            description="Redirect URI of the authorization_code grant.",
        ),
        th.Property(
            "scope",
            th.StringType,
            title="Scope",
            description="OAuth2 scope to request, space separated.",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
            default=DEFAULT_PAGE_SIZE,
            title="Page size",
            description="Rows per page request (the platform caps it at 2000).",
        ),
        th.Property(
            "max_concurrent_requests",
            th.IntegerType(minimum=1, maximum=64),
            default=DEFAULT_MAX_CONCURRENT_REQUESTS,
            title="Concurrent requests",
            description="Page requests in flight at once per stream (order kept).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(exclusive_minimum=0),
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout",
            description="Seconds to wait for a connection or a response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=DEFAULT_MAX_RETRIES,
            title="Max retries",
            description=(
                "Retries of a request after 429, 5xx, a reset or a timeout, with "
                "exponential backoff (Retry-After honoured)."
            ),
        ),
        th.Property(
            "max_retry_seconds",
            th.NumberType(exclusive_minimum=0),
            default=DEFAULT_MAX_RETRY_SECONDS,
            title="Max retry seconds",
            description=(
                "Time budget of one request (a page or a token request), first "
                "attempt included: no retry starts past it, whatever max_retries."
            ),
        ),
        th.Property(
            "start_ts",
            th.IntegerType(minimum=0),
            default=DEFAULT_START_TS,
            title="Start timestamp",
            description=(
                "Unix seconds where incremental streams start when the state "
                "has no bookmark."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header; default tap-openapi/<version>.",
        ),
        th.Property(
            "verify_tls",
            th.BooleanType,
            default=True,
            title="Verify TLS",
            description="Check the platform's TLS certificate (false logs a warning).",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION",
            description=(
                "Send ACTIVATE_VERSION after each complete read (a full-table "
                "stream, or an incremental one read from 0 with no bookmark, "
                "e.g. --full-refresh), so targets remove rows the platform no "
                "longer has."
            ),
        ),
        th.Property(
            "streams",
            th.ArrayType(_STREAM_ITEM),
            title="Streams",
            description="The paged APIs to read, one object per stream.",
        ),
    ).to_dict()

    # --- settings ------------------------------------------------------------

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Validate as singer-sdk does, and also catch what jsonschema cannot.

        jsonschema would accept unknown keys silently, an empty ``streams``
        and a ``base_url`` without a scheme (which then fails later as an
        "unreachable" token endpoint). A typo such as ``pagesize`` gets "did
        you mean 'page_size'?". jsonschema messages quote the offending
        value, so the values of secret settings are kept out of them.

        Args:
            raise_errors: Raise ``ConfigValidationError`` on errors.

        Returns:
            The list of errors.

        Raises:
            ConfigValidationError: If a setting is unknown, missing or invalid,
                and ``raise_errors`` is set.
        """
        # The SDK's own settings (stream_maps, flattening...) are valid too.
        self.append_builtin_config(self.config_jsonschema)
        properties: dict[str, t.Any] = self.config_jsonschema.get("properties", {})
        secret_settings = {
            key for key, prop in properties.items() if prop.get("secret")
        }
        errors = self._unknown_setting_errors(sorted(properties))
        validator = JSONSchemaValidator(self.config_jsonschema)
        errors += [
            _describe_schema_error(error, secret_settings)
            for error in validator.iter_errors(self._config)
        ]
        errors += self._setting_value_errors()
        secrets = self.secret_values()
        errors = [redaction.redact(error, secrets) for error in errors]
        if errors:
            if raise_errors:
                raise ConfigValidationError(
                    "Config validation failed",
                    errors=errors,
                    schema=self.config_jsonschema,
                )
            self.logger.warning("Config validation failed")
        return errors

    def _unknown_setting_errors(self, known: list[str]) -> list[str]:
        errors = [
            unknown_key_message(key, known)
            for key in sorted(self._config)
            if key not in known
        ]
        streams = self._config.get("streams")
        if isinstance(streams, list) and all(isinstance(s, dict) for s in streams):
            try:
                parse_streams(streams)
            except ConfigurationError as exc:
                errors.append(str(exc))
        return errors

    def _setting_value_errors(self) -> list[str]:
        errors = []
        # A tap without streams would "succeed" having read nothing, which
        # hides a broken deployment (e.g. a Meltano environment that lost
        # the setting).
        if self._config.get("streams") in (None, []):
            errors.append(
                "Setting streams is required: list the paged APIs to read, e.g. "
                '[{"name": "fake", "path": "/api/v1/sync/fake", '
                '"primary_keys": ["id"]}]'
            )
        for key in URL_SETTINGS:
            value = self._config.get(key)
            # Type errors are jsonschema's; an empty optional URL means default.
            if isinstance(value, str) and (value or key == "base_url"):
                error = url_setting_error(key, value)
                if error:
                    errors.append(error)
        return errors

    # --- shared resources ----------------------------------------------------

    @cached_property
    def connection(self) -> Connection:
        """The HTTP session and token manager every stream of this run shares."""
        config = self.config
        workers = int(
            config.get("max_concurrent_requests", DEFAULT_MAX_CONCURRENT_REQUESTS)
        )
        if workers > 1:
            limit_malloc_arenas()
        session = requests.Session()
        # Room for every concurrent page request plus a token request.
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=workers + 2
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        if not config.get("verify_tls", True):
            logger.warning(
                "verify_tls is false: the platform's TLS certificate is not checked"
            )
            session.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        tokens = TokenManager(config, session=session)
        return Connection(
            session=session,
            authenticator=TokenManagerAuthenticator(tokens),
            page_size=min(
                int(config.get("page_size", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE
            ),
            max_concurrent_requests=workers,
            request_timeout=float(
                config.get("request_timeout", DEFAULT_REQUEST_TIMEOUT)
            ),
            max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
            max_retry_seconds=float(
                config.get("max_retry_seconds", DEFAULT_MAX_RETRY_SECONDS)
            ),
            user_agent=str(config.get("user_agent") or default_user_agent()),
            start_ts=int(config.get("start_ts", DEFAULT_START_TS)),
        )

    @property
    def token_manager(self) -> TokenManager:
        """The run's single token manager (one token for all streams)."""
        return self.connection.authenticator.token_manager

    @override
    def discover_streams(self) -> list[Stream]:
        """One stream per item of the ``streams`` setting.

        Returns:
            The streams, in the order of the setting.
        """
        return [
            OpenAPIStream(self, settings, self.connection)
            for settings in parse_streams(self.config.get("streams"))
        ]

    # --- command line --------------------------------------------------------

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        # Registered first: errors raised while the SDK sets the tap up
        # (discovery, a sample request) are reported by _TapCommand too.
        redaction.register(self)
        super().__init__(*args, **kwargs)

    def secret_values(self) -> list[t.Any]:
        """The values to keep out of error messages: the secret settings.

        The run's tokens are the token manager's, which registers itself.

        Returns:
            The values of the settings marked secret.
        """
        config: dict[str, t.Any] = getattr(self, "_config", None) or {}
        properties = self.config_jsonschema.get("properties", {})
        return [
            config[key]
            for key, prop in properties.items()
            if prop.get("secret") and key in config
        ]

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The standard Singer command, reporting expected failures in one line.

        Returns:
            The click command behind ``tap-openapi``.
        """
        command = super().get_singer_command()
        return _TapCommand(
            name=command.name,
            callback=_config_errors_to_main(command.callback),
            params=command.params,
            help=command.help,
            context_settings=command.context_settings,
            logger=cls.logger,
        )


class _InvalidConfig(Exception):
    """Carries a ``ConfigValidationError``'s messages past the SDK's handler."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("Config validation failed")
        self.errors = errors


def _config_errors_to_main(
    callback: Callable[..., t.Any] | None,
) -> Callable[..., t.Any] | None:
    """Wrap the command's callback so _TapCommand reports config errors.

    singer-sdk's ``SingerCommand.invoke`` would log them followed by a generic
    "Config validation failed", which then reads as the cause.
    """
    if callback is None:
        return None

    @functools.wraps(callback)
    def run(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return callback(*args, **kwargs)
        except ConfigValidationError as exc:
            raise _InvalidConfig(list(exc.errors)) from exc

    return run


class _TapCommand(SingerCommand):
    """Ends expected failures with an ERROR line naming the cause, exit code 1.

    Wrong credentials, an unreachable platform or a business error are the
    operator's to fix; a traceback would bury the cause. Config errors come
    after a one-line summary, so the last line is a specific one. Every
    secret value the run holds (secret settings, current tokens) is replaced
    with ``***``, also when the platform echoed it into its error text.
    """

    @override
    def main(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return super().main(*args, **kwargs)
        except (_InvalidConfig, ConfigValidationError) as exc:
            # ConfigValidationError itself arrives from --test, whose option
            # callback builds the tap before the command's callback runs.
            count = len(exc.errors)
            noun = "error" if count == 1 else "errors"
            self.logger.error("Config validation failed (%d %s):", count, noun)
            for error in exc.errors:
                self.logger.error("Config error: %s", _redact(error))
        except EXPECTED_ERRORS as exc:
            cause = " ".join(str(exc).split()) or type(exc).__name__
            self.logger.error("%s: %s", type(exc).__name__, _redact(cause))
        except MappingError as exc:
            # singer-sdk's messages about stream maps do not name the setting.
            cause = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
            self.logger.error(
                "%s: %s; check the stream_maps setting",
                type(exc).__name__,
                _redact(cause),
            )
        sys.exit(1)


def _redact(message: str) -> str:
    return redaction.redact(message, redaction.known_secrets())


#: Settings that must be absolute http(s) URLs.
URL_SETTINGS = ("base_url", "token_url", "authorize_url")


def url_setting_error(key: str, value: str) -> str | None:
    """Say what is wrong with a URL setting, or ``None`` if it is usable.

    requests would otherwise fail on each attempt with ``InvalidSchema`` or
    ``MissingSchema``, retried and reported as an unreachable endpoint.

    Args:
        key: The setting's name.
        value: The setting's value.

    Returns:
        A one-line message naming the setting and the fix, or ``None``.
    """
    try:
        parts = urllib.parse.urlsplit(value)
        host, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:
        parts, host = None, None
    if parts and parts.scheme in ("http", "https") and host:
        return None
    shown = _without_userinfo(value)
    msg = f"Setting {key} must be an http:// or https:// URL with a host, got '{shown}'"
    if parts is not None and "://" not in value and value.strip():
        msg += f"; add the scheme, e.g. 'https://{shown}'"
    return msg


def _without_userinfo(url: str) -> str:
    # A URL may carry user:password@ before the host; never echo it.
    scheme, sep, rest = url.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def _describe_schema_error(
    error: jsonschema.ValidationError, secret_settings: t.Collection[str]
) -> str:
    """One line for a jsonschema error, without a secret setting's value."""
    path = list(error.path)
    where = f" in config[{']['.join(repr(index) for index in path)}]" if path else ""
    if error.validator == "required" and not path:
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"Setting {', '.join(missing)} is required"
    if not path or path[0] not in secret_settings:
        return f"{error.message}{where}"
    # jsonschema's own message starts with the value: build one without it.
    key = path[0]
    if error.validator == "type":
        expected = error.validator_value
        kinds = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(f"'{kind}'" for kind in kinds)
        return f"Setting {key} must be of type {wanted} (value hidden: secret){where}"
    return f"Setting {key} fails '{error.validator}' (value hidden: secret){where}"


if __name__ == "__main__":
    TapOpenAPI.cli()
