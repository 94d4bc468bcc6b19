"""Paths and the outcome type the generator's tests share (conftest.py holds the fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SPECS = Path(__file__).resolve().parent / "specs"
EXAMPLE_SCENARIO = REPO / "examples" / "fastapi-sqlite" / "scenario.yaml"
# /openapi.json of examples/fastapi-sqlite/app.py, as FastAPI writes it (app.openapi(); same bytes as GET /openapi.json)
FASTAPI_SPEC = SPECS / "fastapi-example.json"
PETSTORE_30 = SPECS / "petstore-3.0.yaml"
INVENTORY_31 = SPECS / "inventory-3.1.json"


@dataclass
class Outcome:
    code: int
    out: str
    err: str
