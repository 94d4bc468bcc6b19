"""`--source-dir`: only the application's source text goes to the model, bounded, and the terminal says what was
skipped (a binary file, virtual environments, a big file, a lock file, a database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_fake_ollama import FakeOllama

from lueur_net.analysis.model import Run
from lueur_net.analysis.prompts import SOURCE_BUDGET_CHARS, SOURCE_FILE_MAX_BYTES, select_source
from lueur_net.analysis.redact import Redactor
from lueur_net.cli.main import main

APP = '@app.post("/users/")\nasync def create_user(name: str):\n    return {"name": name}\n'


def _source_tree(root: Path) -> Path:
    source = root / "src"
    source.mkdir()
    (source / "app.py").write_text(APP)
    (source / "settings.toml").write_text("timeout = 5\n")
    # a binary file with a source suffix (valid UTF-8 except for its NUL bytes), and a database
    (source / "blob.yaml").write_bytes(b"key: \x00\x01\x02 binary\x00" * 20)
    (source / "app.db").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 4)
    # a virtual environment with the usual name, and one under another name (found by its pyvenv.cfg)
    for venv in (".venv", "pyenv-3.11"):
        packages = source / venv / "lib" / "python3.11" / "site-packages" / "httpx"
        packages.mkdir(parents=True)
        (source / venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (packages / "_client.py").write_text("# vendored /users/ timeout\n" * 50)
    # a big generated file that mentions the route many times, and a lock file
    (source / "generated_routes.py").write_text('ROUTES = ["/users/"]\n' * 2_000)
    (source / "pnpm-lock.yaml").write_text("lockfileVersion: '6.0'\n/users/: {}\n")
    return source


def test_only_source_text_within_the_budget_and_what_was_skipped(sample_run: Run, tmp_path: Path) -> None:
    selection = select_source(_source_tree(tmp_path), sample_run, Redactor())
    assert sorted(source.path for source in selection.files) == ["app.py", "settings.toml"]
    assert selection.chars <= SOURCE_BUDGET_CHARS
    assert selection.skipped == {"binary": 1, "not source": 1, f"over {SOURCE_FILE_MAX_BYTES:,} bytes": 1,
                                 "lock files": 1}
    assert sorted(selection.skipped_dirs) == [".venv", "pyenv-3.11"]
    summary = selection.summary()
    assert summary.startswith("source: 2 files, ")
    assert "skipped 4 files (" in summary and "1 binary" in summary and "2 folders (.venv, pyenv-3.11)" in summary


def test_files_past_the_total_budget_are_counted(sample_run: Run, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for index in range(5):
        (source / f"module{index}.py").write_text(f"# module {index}\n" + "x = 1\n" * 1_000)  # ~6 kB each
    selection = select_source(source, sample_run, Redactor())
    assert len(selection.files) == 2 and selection.chars <= SOURCE_BUDGET_CHARS
    assert selection.skipped == {"over the budget": 3}


def test_analyze_sends_only_source_and_says_what_it_skipped(
        run_files: tuple[Path, Path], fake_ollama: FakeOllama, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    source = _source_tree(tmp_path)
    status = main(["analyze", str(run_files[0]), "--model", "tiny-test", "--ollama-host", fake_ollama.url,
                   "--source-dir", str(source), "-o", str(tmp_path / "analysis.md"), "--quiet"])
    assert status == 0
    err = capsys.readouterr().err
    assert "[source: 2 files," in err and "skipped 4 files" in err  # shown even with --quiet
    prompts = ["\n".join(str(m["content"]) for m in chat["messages"]) for chat in fake_ollama.chats()]
    sent = "\n".join(prompts)
    assert "### app.py" in sent and "### settings.toml" in sent
    for absent in ("blob.yaml", "vendored", "generated_routes", "lockfileVersion", "SQLite format"):
        assert absent not in sent
