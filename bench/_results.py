"""Where benchmarks leave their figures: a JSON file (`--json`), its folder made if needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save(path: str | None, result: Any) -> None:
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
