"""20 SIGKILLs at random moments of labs being built, used and torn down; `lueur-net clean` after each one
must leave nothing named after those runs: namespaces, veths, nft tables, /etc/netns files, server processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lab_helpers import leftovers

KILLS = 20
LOOP = textwrap.dedent("""
    import pathlib, sys
    from lueur_net.ledger import Ledger
    from lueur_net.lab import Lab, ServeSpec
    run_dir, url, marker = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    port = int(url.rsplit(":", 1)[1].strip("/"))
    listener = (
        f"{sys.executable} -c 'import socket, time  # {marker}\\n"
        f"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\\n"
        f"s.bind((\\"127.0.0.1\\", {port})); s.listen(); time.sleep(600)'"
    )
    print("ready", flush=True)
    for i in range(1000):
        with Ledger.open("sigkill-test", run_dir=run_dir) as journal:
            print("run", journal.run_id, flush=True)
            with Lab.create([url], journal, ServeSpec(listener) if i % 2 else None):
                pass
""")


def test_sigkill_at_random_moments_then_clean_leaves_nothing(run_dir: Path) -> None:
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    chance = random.Random(seed)
    marker = f"lueur-sigkill-{os.getpid()}"
    url = f"http://localhost:{chance.randrange(20000, 30000)}/"
    env = {**os.environ, "LUEUR_NET_RUN_DIR": str(run_dir)}
    lueur_net = [sys.executable, "-m", "lueur_net.cli.main"]
    began = time.monotonic()
    kills_that_left_objects = 0
    for kill in range(KILLS):
        loop = subprocess.Popen([sys.executable, "-c", LOOP, str(run_dir), url, marker], stdout=subprocess.PIPE,
                                text=True)
        assert loop.stdout is not None
        assert loop.stdout.readline().strip() == "ready"
        time.sleep(chance.uniform(0.1, 0.7))  # the first import of pyroute2 takes ~0.1 s
        loop.send_signal(signal.SIGKILL)
        loop.wait()
        run_ids = [line.split()[1] for line in loop.stdout.read().splitlines() if line.startswith("run ")]
        loop.stdout.close()
        cleaned = subprocess.run([*lueur_net, "clean"], env=env, capture_output=True, text=True, timeout=60)
        assert cleaned.returncode == 0, cleaned.stderr
        if "removed " in cleaned.stdout:
            kills_that_left_objects += 1
        for run_id in run_ids:
            assert leftovers(run_id, marker) == [], f"kill {kill} (seed {seed}): {cleaned.stdout}"
        assert list(run_dir.glob("*.ledger")) == [] and list(run_dir.glob("*.log")) == []
    elapsed = time.monotonic() - began
    print(f"{KILLS} kills in {elapsed:.1f} s; {kills_that_left_objects} left objects that clean removed")
    assert kills_that_left_objects >= KILLS // 4  # the kills did land inside labs' lifetimes
