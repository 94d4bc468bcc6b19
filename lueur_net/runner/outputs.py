"""The run's output files: refused before the run when they cannot be written, their folders made only at the end."""

from __future__ import annotations

import os
from pathlib import Path

from lueur_net.errors import BadInput


def check_writable(path: Path | None) -> None:
    """Refuse an output that cannot be written, before the run (not after a minute), without creating or
    truncating anything: a refused run (exit 2, 3) leaves the output folder exactly as it was. The folder is made
    and the file written only when the run has something to write (`make_folders`, then the recorder)."""
    if path is None:
        return
    if path.suffix not in (".json", ".parquet", ".csv"):
        raise BadInput(f"{path}: unknown output format '{path.suffix}' (use .json for results, .parquet or .csv "
                       "for records)")
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a directory")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise BadInput(f"cannot write {path}: permission denied or read-only file system")
        return
    # The nearest folder that exists must be a folder we may create entries in (the rest is made at the end).
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {path}: cannot create files in {folder} (permission denied or read-only "
                       "file system)")


def make_folders(*paths: Path | None) -> None:
    """The outputs' folders, made when the run has results to write (never before: see `check_writable`)."""
    for path in paths:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise BadInput(f"cannot write {path}: {error.strerror}") from None
