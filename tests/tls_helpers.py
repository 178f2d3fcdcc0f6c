"""A throwaway self-signed certificate for HTTPS tests on loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

#: Environment variables that would add a CA bundle to requests' trust store.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and its key into ``folder``.

    Returns:
        The certificate's and the key's paths.
    """
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec"),
            *("-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def system_trust_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with no extra CA bundle."""
    env = dict(os.environ if base is None else base)
    return {k: v for k, v in env.items() if k not in CA_BUNDLE_VARIABLES}
