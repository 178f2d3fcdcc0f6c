"""target-files: a Singer target writing CSV and XLSX files in constant memory."""

from __future__ import annotations
