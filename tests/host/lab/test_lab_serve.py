"""The server under test (--serve): its own namespace, reached through the URL as written, stopped at the end."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from lab_helpers import fetch, leftovers

from lueur_net.errors import BadInput
from lueur_net.lab import Lab, ServeSpec, run_in_netns
from lueur_net.ledger import Ledger, process_start_time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_served_http_server_is_reached_as_written_and_stopped(journal: Ledger, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "index.html").write_text("served from the server namespace")
    spec = ServeSpec(f"{sys.executable} -m http.server {port} --bind 127.0.0.1", cwd=str(tmp_path),
                     env={**os.environ, "LUEUR_TEST_MARK": "1"})
    url = f"http://localhost:{port}/index.html"
    with Lab.create([url], journal, spec) as lab:
        assert lab.server is not None and lab.server_netns is not None
        status, body = run_in_netns(lab.client_netns, fetch, url)
        assert (status, body) == (200, "served from the server namespace")  # cwd kept
        path = lab.paths[url]
        assert path is lab.server_path and path.peer_is_ours
        assert path.client.netns == lab.client_netns and path.server.netns == lab.server_netns
        environ = Path(f"/proc/{lab.server.pid}/environ").read_bytes()
        assert b"LUEUR_TEST_MARK=1" in environ  # env kept
        assert os.stat(f"/proc/{lab.server.pid}/ns/net").st_ino == os.stat(f"/run/netns/{lab.server_netns}").st_ino
        assert os.getpgid(lab.server.pid) == lab.server.pid  # its own group, stopped as a whole
        pid, started = lab.server.pid, lab.server.start_time
        # The host's loopback does not serve that port: the URL works only through the lab.
        with pytest.raises(OSError):
            fetch(url, timeout=1)
    assert process_start_time(pid) != started
    assert leftovers(journal.run_id) == []


def test_a_server_that_exits_is_reported_with_its_output(journal: Ledger) -> None:
    spec = ServeSpec("echo 'port already taken' >&2; exit 4")
    with pytest.raises(BadInput) as raised:
        Lab.create(["http://localhost:9/"], journal, spec)
    assert "exited with status 4" in raised.value.message and "port already taken" in raised.value.message
    assert leftovers(journal.run_id) == []


def test_a_server_that_never_listens_times_out_with_a_clear_error(journal: Ledger) -> None:
    marker = f"lueur-serve-timeout-{os.getpid()}"
    spec = ServeSpec(f"echo starting {marker}; exec sleep 60 # {marker}", ready_timeout=0.5)
    with pytest.raises(BadInput) as raised:
        Lab.create([f"http://localhost:{free_port()}/"], journal, spec)
    assert "did not accept connections" in raised.value.message and f"starting {marker}" in raised.value.message
    assert leftovers(journal.run_id, marker) == []


def test_serve_needs_a_loopback_upstream(journal: Ledger) -> None:
    with pytest.raises(BadInput, match="needs an upstream on localhost"):
        Lab.create([], journal, ServeSpec("true"))
    with pytest.raises(BadInput, match="match no loopback upstream"):
        Lab.create(["http://localhost:8080/"], journal, ServeSpec("true", ports=(9090,)))
    with pytest.raises(BadInput, match="does not exist"):
        Lab.create(["http://localhost:8080/"], journal, ServeSpec("true", cwd="/nonexistent-lueur-dir"))


PROXY_APP = """
import http.server, sys, urllib.request
port, dependency = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"via server: " + urllib.request.urlopen(dependency, timeout=3).read()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def test_the_served_app_reaches_its_own_dependency_on_the_host_s_loopback(
    journal: Ledger, loopback_server: int, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(PROXY_APP)
    port = free_port()
    app_url, dependency_url = f"http://localhost:{port}/", f"http://localhost:{loopback_server}/"
    # No ports named: the dependency's port has a listener on the host, so only the app's port is the server's.
    spec = ServeSpec(f"{sys.executable} {app} {port} {dependency_url}")
    with Lab.create([app_url, dependency_url], journal, spec) as lab:
        assert lab.paths[app_url] is lab.server_path and lab.paths[dependency_url] is lab.host_path
        assert run_in_netns(lab.client_netns, fetch, app_url) == (
            200, f"via server: hello from 127.0.0.1:{loopback_server}"
        )
        assert run_in_netns(lab.client_netns, fetch, dependency_url)[0] == 200


def test_serve_refuses_when_the_host_already_serves_every_port(journal: Ledger, loopback_server: int) -> None:
    with pytest.raises(BadInput, match="already has a listener on this host"):
        Lab.create([f"http://localhost:{loopback_server}/"], journal, ServeSpec("sleep 5"))
