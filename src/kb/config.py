"""Defaults shared by every stage, overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path

# Files larger than this are refused before parsing (bytes); KB_MAX_FILE_MB overrides.
MAX_FILE_BYTES = int(float(os.environ.get("KB_MAX_FILE_MB", "200")) * 1024 * 1024)
# Unpacked size limit of a DOCX (zip bombs): checked from the zip directory before parsing.
MAX_UNPACKED_BYTES = int(float(os.environ.get("KB_MAX_UNPACKED_MB", "500")) * 1024 * 1024)


def default_corpus() -> Path:
    return Path(os.environ.get("KB_CORPUS", "corpus"))


def default_index() -> Path:
    return Path(os.environ.get("KB_INDEX", "index"))
