"""Attaching to an existing namespace that holds a server (as a pod would), and the safety refusals."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_helpers import fetch

from lueur_net.errors import BadInput
from lueur_net.lab import ALLOW_FLAG, Endpoint, Lab, check_fault_target, run_in_netns
from lueur_net.lab.safety import host_default_interfaces
from lueur_net.ledger import Ledger

HOLDER = textwrap.dedent("""
    import ctypes, http.server, sys
    assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0  # CLONE_NEWNET
    from pyroute2 import IPRoute
    with IPRoute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers()
            self.wfile.write(b"inpod")
        def log_message(self, *args): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    print(server.server_address[1], flush=True)
    server.serve_forever()
""")


@dataclass
class Pod:
    pid: int
    port: int
    ifname: str  # inside
    host_ifname: str


def _start_holder() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


@pytest.fixture
def pod() -> Iterator[Pod]:
    """A process in its own namespace serving on its loopback, wired to the host by a veth (like a pod)."""
    from pyroute2 import IPRoute

    process, port = _start_holder()
    tag = f"lueurt{os.getpid() % 100000}"
    inside, outside = f"{tag}p", f"{tag}h"
    try:
        with IPRoute() as ipr:
            ipr.link("add", ifname=outside, kind="veth", peer={"ifname": inside, "net_ns_pid": process.pid})
            ipr.link("set", index=ipr.link_lookup(ifname=outside)[0], state="up")
        with IPRoute(netns=f"/proc/{process.pid}/ns/net", flags=0) as ns:
            index = ns.link_lookup(ifname=inside)[0]
            ns.addr("add", index=index, address=f"10.214.{random.randrange(256)}.2", prefixlen=32)
            ns.link("set", index=index, state="up")
            ns.route("add", dst="0.0.0.0/0", oif=index, scope=253)  # a device route: no host address needed
        yield Pod(process.pid, port, inside, outside)
    finally:
        process.kill()
        process.wait()
        with IPRoute() as ipr:  # the veth goes with the namespace; this only covers a failed set-up
            for index in ipr.link_lookup(ifname=outside):
                ipr.link("del", index=index)


def test_attach_by_pid_uses_the_default_route_interface_and_its_host_peer(journal: Ledger, pod: Pod) -> None:
    url = f"http://localhost:{pod.port}/"
    with Lab.attach(f"pid:{pod.pid}", [url], journal) as lab:
        assert lab.attached and lab.client_netns == f"/proc/{pod.pid}/ns/net"
        assert run_in_netns(lab.client_netns, fetch, url) == (200, "inpod")
        path = lab.paths[url]
        assert (path.client.ifname, path.client.owned, path.client.netns) == (pod.ifname, False, lab.client_netns)
        assert (path.server.ifname, path.server.owned, path.server.netns) == (pod.host_ifname, False, None)
        assert path.server.ifindex == int(open(f"/sys/class/net/{pod.host_ifname}/ifindex").read())
        check_fault_target(path.client)  # inside the namespace the user attached to: allowed
        with pytest.raises(BadInput, match="host interface lueur-net did not create"):
            check_fault_target(path.server)
        check_fault_target(path.server, allow_host_interface=True)


def test_attach_by_path_with_an_explicit_interface(journal: Ledger, pod: Pod) -> None:
    with Lab.attach(f"/proc/{pod.pid}/ns/net", ["http://localhost/"], journal, iface="lo") as lab:
        assert lab.paths["http://localhost/"].client.ifname == "lo"
        assert lab.paths["http://localhost/"].server.ifindex == 0  # lo has no far end
        with pytest.raises(BadInput, match="unknown"):
            check_fault_target(lab.paths["http://localhost/"].server)
    with pytest.raises(BadInput, match="does not exist in namespace"):
        Lab.attach(f"pid:{pod.pid}", [], journal, iface="nosuch0")


def test_attach_errors_are_clear(journal: Ledger) -> None:
    with pytest.raises(BadInput, match="dead pid"):
        Lab.attach("pid:999999999", [], journal)
    with pytest.raises(BadInput, match="does not exist"):
        Lab.attach("lueur-no-such-netns", [], journal)
    with pytest.raises(BadInput, match="host's own network namespace") as raised:
        Lab.attach(f"pid:{os.getpid()}", [], journal)
    assert raised.value.hint is not None and ALLOW_FLAG in raised.value.hint
    process, _ = _start_holder()  # a namespace with only lo: no default route
    try:
        with pytest.raises(BadInput, match="no IPv4 default route"):
            Lab.attach(f"pid:{process.pid}", [], journal)
    finally:
        process.kill()
        process.wait()


def test_the_host_default_route_interface_is_refused_without_the_flag() -> None:
    defaults = host_default_interfaces()
    if not defaults:
        pytest.skip("this host has no default route")
    name = sorted(defaults)[0]
    index = int(open(f"/sys/class/net/{name}/ifindex").read())
    endpoint = Endpoint(None, name, index, "", owned=False)
    with pytest.raises(BadInput, match="default-route interface") as raised:
        check_fault_target(endpoint)
    assert raised.value.exit_code == 2
    check_fault_target(endpoint, allow_host_interface=True)
    check_fault_target(Endpoint(None, "lueurxyzh", 99, "10.213.0.1", owned=True))


def test_shell_attach_runs_a_command_in_the_pod_s_namespace(pod: Pod) -> None:
    fetch_code = "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"
    done = subprocess.run(
        [sys.executable, "-m", "lueur_net.cli.main", "shell", "--attach", f"pid:{pod.pid}", "--",
         sys.executable, "-c", fetch_code, f"http://localhost:{pod.port}/"],
        capture_output=True, text=True, timeout=60,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "inpod"), done.stderr
    dead = subprocess.run([sys.executable, "-m", "lueur_net.cli.main", "shell", "--attach", "pid:999999999", "--",
                           "true"], capture_output=True, text=True, timeout=60)
    assert dead.returncode == 2 and "dead pid" in dead.stderr


def _resolve(name: str) -> str:
    import socket

    return str(socket.getaddrinfo(name, 80, family=socket.AF_INET, type=socket.SOCK_STREAM)[0][4][0])


def test_inside_a_container_s_namespace_names_resolve_with_its_own_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hosts").write_text("10.9.8.7 lueur-pod-only-name\n")
    (root / "etc" / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    # A process whose filesystem root differs from ours, as a container's does (same network namespace here).
    holder = subprocess.Popen([sys.executable, "-c", f"import os, time; os.chroot({str(root)!r}); time.sleep(60)"])
    try:
        deadline = time.monotonic() + 10
        while os.stat(f"/proc/{holder.pid}/root/").st_ino != os.stat(root).st_ino and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run_in_netns(f"/proc/{holder.pid}/ns/net", _resolve, "lueur-pod-only-name") == "10.9.8.7"
        assert run_in_netns(f"pid:{holder.pid}", _resolve, "lueur-pod-only-name") == "10.9.8.7"
    finally:
        holder.kill()
        holder.wait()
