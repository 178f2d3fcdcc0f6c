"""tap-openapi: a Singer tap and Python client for the OpenAPI platform."""

from __future__ import annotations
