"""What the run tests that start their own upstream with `--serve` share: scenario items calling it on the host's
localhost (the upstream declared, so the lab reaches it as written) and the `lueur-net run` command line."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LUEUR_NET = [sys.executable, "-m", "lueur_net.cli.main"]


def localhost_item(port: int, path: str, *, timeout_ms: int, faults: str = "", strategy: str = "") -> str:
    """One item (YAML) calling GET http://localhost:PORT/PATH; `faults` the inside of its fault list, `strategy`
    its strategy mapping."""
    text = (f'  - call: {{method: GET, url: "http://localhost:{port}/{path}", timeout: {timeout_ms}}}\n'
            f"    context:\n"
            f'      upstreams: ["http://localhost:{port}/"]\n')
    if faults:
        text += f"      faults: [{faults}]\n"
    if strategy:
        text += f"      strategy: {strategy}\n"
    return text


def document(title: str, *items: str) -> str:
    return f"title: {title}\nitems:\n" + "".join(items)


def run_serving(scenario: Path, serve: str, folder: Path) -> list[str]:
    """`lueur-net run` of `scenario` with `serve` started for it, results.json into `folder`, no report, exit 0
    whatever the checks say (the tests read the results)."""
    return [*LUEUR_NET, "run", str(scenario), "--serve", serve, "--result", str(folder / "results.json"),
            "--no-report", "--fail-on", "never"]
