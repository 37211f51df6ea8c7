"""The one recipe for every key advcompare derives (weights cache, defenses, cells): a
SHA-256 digest of the canonical JSON of what determines the result."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def digest(payload: Any, length: int = 24) -> str:
    """Stable hex digest of ``payload`` (JSON with sorted keys; non-JSON values via str)."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
