"""The on-disk token cache shared by ``tap-openapi-login`` and the tap.

The cache is one JSON file holding the last access token, its expiry and the
refresh token. It is written atomically (a temporary file in the same folder,
then ``os.replace``) with mode 0600, so a crash never leaves half a file and
other local users cannot read the tokens. A missing folder is created with
mode 0700.

Several processes may share one cache (two tap runs, or the tap and a library
user). A refresh token that the server rotates is valid exactly once, so the
read-refresh-write sequence runs under an exclusive lock on a sidecar
``<cache>.lock`` file where the platform offers ``fcntl`` (POSIX).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import time
import typing as t
from collections.abc import Iterator
from pathlib import Path

from tap_openapi.errors import ConfigurationError

try:  # POSIX only; on Windows the cache works without the inter-process lock.
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Owner read/write only: the file holds bearer and refresh tokens.
CACHE_FILE_MODE = 0o600
#: Owner only: a folder the cache creates holds nothing but tokens.
CACHE_FOLDER_MODE = 0o700
BEARER = "Bearer"


@dataclasses.dataclass(frozen=True)
class CachedToken:
    """The tokens of one grant, as kept in the cache.

    Attributes:
        access_token: The bearer token, or ``None`` if only a refresh token is kept.
        refresh_token: The refresh token, if the server issued one.
        expires_at: Unix time at which the access token expires (``0`` unknown).
        issued_at: Unix time at which the access token was issued.
        token_type: The token type, normally ``Bearer``.
        scope: The granted scope, if the server said.
        client_id: The client the tokens were issued to.
        token_url: The token endpoint that issued them.
    """

    access_token: str | None = dataclasses.field(default=None, repr=False)
    refresh_token: str | None = dataclasses.field(default=None, repr=False)
    expires_at: float = 0.0
    issued_at: float = 0.0
    token_type: str = BEARER
    scope: str | None = None
    client_id: str | None = None
    token_url: str | None = None

    def seconds_left(self, now: float | None = None) -> float:
        """Return how long the access token stays valid (negative if expired)."""
        if not self.access_token:
            return -1.0
        return self.expires_at - (time.time() if now is None else now)

    def to_json(self) -> dict[str, t.Any]:
        """Return the cache file's JSON object."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, payload: t.Mapping[str, t.Any]) -> CachedToken:
        """Build from a cache file's JSON object, ignoring unknown keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        known = {key: value for key, value in payload.items() if key in names}
        for key in ("expires_at", "issued_at"):
            known[key] = float(known.get(key) or 0.0)
        return cls(**known)


class TokenCache:
    """Reads and writes the token cache file.

    Args:
        path: The cache file (setting ``token_cache_path``); ``~`` is expanded.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"TokenCache({str(self.path)!r})"

    def load(self) -> CachedToken | None:
        """Return the cached tokens, or ``None`` if there is no cache yet.

        Raises:
            ConfigurationError: If the file exists but is not a token cache.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            msg = f"Cannot read the token cache {self.path}: {exc.strerror}"
            raise ConfigurationError(msg) from exc
        try:
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise TypeError("not a JSON object")
            return CachedToken.from_json(payload)
        except (ValueError, TypeError) as exc:
            # The message names the file only: its content may hold tokens.
            msg = (
                f"The token cache {self.path} is not a valid token cache file; "
                "delete it and run tap-openapi-login again"
            )
            raise ConfigurationError(msg) from exc

    def save(self, token: CachedToken) -> None:
        """Write ``token`` atomically with mode 0600.

        Raises:
            ConfigurationError: If the folder cannot be created or written.
        """
        folder = self.ensure_folder()
        data = json.dumps(token.to_json(), indent=2, sort_keys=True).encode()
        try:
            # mkstemp creates the file with mode 0600, so the tokens are never
            # readable by others, not even between create and replace.
            handle, temp_name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=folder
            )
        except OSError as exc:
            msg = f"Cannot write the token cache in {folder}: {exc.strerror}"
            raise ConfigurationError(msg) from exc
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, CACHE_FILE_MODE)
            os.replace(temp_name, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            msg = f"Cannot write the token cache {self.path}: {exc.strerror}"
            raise ConfigurationError(msg) from exc
        logger.debug("Token cache %s written", self.path)

    def ensure_folder(self) -> Path:
        """Create the cache's folder, owner-only (0700), if it does not exist.

        Returns:
            The folder.

        Raises:
            ConfigurationError: If the folder cannot be created.
        """
        folder = self.path.parent
        if folder.is_dir():
            # An existing folder is the user's: its mode is left as it is.
            return folder
        try:
            # Parents get the umask's default, as with ``mkdir -p -m 700``;
            # chmod because the umask could also strip the owner's bits.
            folder.mkdir(mode=CACHE_FOLDER_MODE, parents=True, exist_ok=True)
            folder.chmod(CACHE_FOLDER_MODE)
        except OSError as exc:
            msg = f"Cannot create the token cache folder {folder}: {exc.strerror}"
            raise ConfigurationError(msg) from exc
        logger.info("Created the token cache folder %s (mode 0700)", folder)
        return folder

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive inter-process lock on the cache while in the block."""
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        self.ensure_folder()
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, CACHE_FILE_MODE)
        except OSError as exc:
            msg = f"Cannot create the token cache lock {lock_path}: {exc.strerror}"
            raise ConfigurationError(msg) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
