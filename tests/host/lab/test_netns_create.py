"""The lab's namespaces are created from a thread (unshare + bind mount), without pyroute2's forked helper."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab import links
from lueur_net.lab.enter import NETNS_RUN_DIR

NAME = f"lueur-t-create-{os.getpid()}"


@pytest.fixture
def name() -> Iterator[str]:
    yield NAME
    path = NETNS_RUN_DIR / NAME
    if path.exists():
        subprocess.run(["umount", "-l", str(path)], check=False)
        path.unlink()


def test_create_netns_forks_nothing_and_leaves_the_process_where_it_was(name: str) -> None:
    forks: list[int] = []
    os.register_at_fork(before=lambda: forks.append(threading.get_ident()))
    home = os.stat("/proc/thread-self/ns/net").st_ino
    links.create_netns(name)
    assert forks == []  # before: pyroute2's netns.create forked a helper per namespace
    assert os.stat("/proc/thread-self/ns/net").st_ino == home
    made = os.stat(NETNS_RUN_DIR / name).st_ino
    assert made != home
    # `ip netns` sees it and it is a fresh namespace (only lo, down)
    shown = subprocess.run(["ip", "netns", "exec", name, "ip", "-o", "link"], capture_output=True, text=True,
                           check=True).stdout
    assert [line.split(":")[1].strip() for line in shown.splitlines()] == ["lo"]
    with pytest.raises(EnvironmentProblem, match="already exists"):
        links.create_netns(name)
    assert os.stat(NETNS_RUN_DIR / name).st_ino == made
