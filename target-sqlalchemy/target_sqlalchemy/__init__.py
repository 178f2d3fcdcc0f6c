"""target-sqlalchemy: a Singer target that upserts into SQLAlchemy databases."""

from __future__ import annotations
