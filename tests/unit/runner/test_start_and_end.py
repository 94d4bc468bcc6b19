"""What a user waits for before the first call and after the last line of `run`: the imports the run leaves for
later (lueur_net.runner.later_imports), and the console script's exit (lueur_net.cli.main.entry)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lueur_net.runner import later_imports


def test_importing_the_runner_leaves_pandas_and_the_results_for_later() -> None:
    """Before: `lueur_net.runner` imported lueur_net.results, hence pandas, pyarrow and numpy (0.55-0.75 s of the
    command's start); now the run imports them in a thread beside the lab's set-up and the app's start."""
    code = ("import sys, lueur_net.cli.run, lueur_net.runner; "
            "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow', 'lueur_net.results', 'lueur_net.analysis.reports',"
            " 'httpx', 'lueur_net.driver.driving') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert shown.stdout.strip() == "[]"  # nor the driver's modules (httpx: ~0.06 s), the warm-up thread's


def test_the_driver_package_gives_its_whole_api_on_first_use() -> None:
    """lueur_net.driver imports its process side (httpx, the event loop) when one of its names is first used."""
    import lueur_net.driver as driver
    from lueur_net.driver.driving import ItemRun, drive, drive_item
    from lueur_net.driver.remote import drive_in_netns

    assert (driver.ItemRun, driver.drive, driver.drive_item, driver.drive_in_netns) == (
        ItemRun, drive, drive_item, drive_in_netns)
    assert all(hasattr(driver, name) for name in driver.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        driver.nothing_here  # noqa: B018


def test_later_imports_run_in_a_thread_and_wait_ends_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lueur_slow_module_for_test.py").write_text(
        "import threading, time\nIMPORTED_IN = threading.current_thread().name\ntime.sleep(0.3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lueur_slow_module_for_test", raising=False)
    began = time.monotonic()
    thread = later_imports.start(("lueur_slow_module_for_test",))
    assert time.monotonic() - began < 0.25 and thread.is_alive()  # start() does not wait for the import
    later_imports.wait()
    assert not thread.is_alive()
    module = sys.modules["lueur_slow_module_for_test"]
    assert module.IMPORTED_IN == "lueur-later-imports" != threading.current_thread().name


def test_a_module_that_fails_to_import_stops_only_the_head_start(monkeypatch: pytest.MonkeyPatch) -> None:
    later_imports.start(("lueur_no_such_module_for_test", "json"))
    later_imports.wait()  # no exception here: whoever needs the module imports it and sees the error then
    with pytest.raises(ModuleNotFoundError):
        __import__("lueur_no_such_module_for_test")


@pytest.mark.parametrize(("args", "status", "stdout", "stderr"), [
    (["--version"], 0, "lueur-net, version", ""),
    (["scenario", "validate", "no-such-file.yaml"], 2, "", "no-such-file.yaml"),
])
def test_the_console_script_keeps_the_exit_status_and_flushes_its_output(
        args: list[str], status: int, stdout: str, stderr: str, tmp_path: Path) -> None:
    """entry() leaves through os._exit (the interpreter's teardown took 0.1-0.3 s after a run's last line): what
    was printed must still arrive through a pipe (block-buffered), with the same exit status."""
    done = subprocess.run([sys.executable, "-m", "lueur_net.cli.main", *args], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == status
    assert stdout in done.stdout and stderr in done.stderr
    assert (done.stdout + done.stderr).strip()


def test_the_run_counts_from_the_process_start() -> None:
    from lueur_net.cli.main import seconds_since_process_start

    age = seconds_since_process_start()
    assert 0.0 < age < time.clock_gettime(time.CLOCK_BOOTTIME)  # this test process started before this line



def test_the_reports_leave_the_llm_client_until_a_model_is_asked_for() -> None:
    """`run`'s reports (without --analyze) imported ollama's client and models, ~0.13 s of the run's end."""
    code = "import sys, lueur_net.analysis.reports; print('ollama' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert shown.stdout.strip() == "False"
