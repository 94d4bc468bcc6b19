"""Scenario documents for the scenario tests, built from the parts a test varies (imported, not a conftest)."""

from __future__ import annotations


def item(faults: str, context: str = "", call: str = "{method: GET, url: 'http://a/'}") -> str:
    """One scenario with one item: `faults` is a YAML flow list, `context` more lines of the item's context."""
    return f"title: t\nitems:\n  - call: {call}\n    context:\n      faults: {faults}\n{context}"
