"""Write the model spec's JSON Schema, generated from its pydantic models, to
``docs/schemas/model-spec.v1.json`` (see :mod:`ledgerlearn.model.schema`).

Run by ``make artifacts``; a test fails when the committed file is out of date.

Usage: python scripts/gen_spec_schema.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from ledgerlearn.model.schema import SCHEMA_FILE, schema_bytes  # noqa: E402

TARGET = ROOT / "docs" / "schemas" / SCHEMA_FILE


def main() -> int:
    data = schema_bytes()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_bytes() != data:
            print(f"docs/schemas/{SCHEMA_FILE} is stale; run: make artifacts", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
