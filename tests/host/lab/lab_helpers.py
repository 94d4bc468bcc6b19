"""Helpers for the lab's host tests: a real HTTP server on loopback, fetch/connect probes that run_in_netns can
pickle, and a check that nothing named after a run is left. Tests only ever remove objects they made."""

from __future__ import annotations

import http.server
import os
import threading
import urllib.request
from pathlib import Path


class Hello(http.server.BaseHTTPRequestHandler):
    """HTTP/1.0 (the default): no keep-alive, so no Nagle/delayed-ACK stall (machine-facts)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"hello from {self.server.server_address[0]}:{self.server.server_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def start_server(address: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((address, port), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fetch(url: str, timeout: float = 3.0) -> tuple[int, str]:
    """GET url (module level, so run_in_netns can pickle it); returns (status, body) or raises."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def connect_error(address: str, port: int, timeout: float = 1.0) -> str | None:
    """None when a TCP connection to (address, port) succeeds, else the error's class name."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(timeout)
        try:
            probe.connect((address, port))
        except OSError as error:
            return type(error).__name__
    return None


def leftovers(run_id: str, marker: str | None = None) -> list[str]:
    """Every kernel object, file or process still named after run `run_id` (or carrying `marker`)."""
    import subprocess

    prefix = f"lueur{run_id}"
    found = [f"netns {n}" for n in os.listdir("/run/netns") if n.startswith(prefix)] if os.path.isdir(
        "/run/netns") else []
    found += [f"link {n}" for n in os.listdir("/sys/class/net") if n.startswith(prefix)]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False).stdout
    found += [f"nft {line}" for line in tables.splitlines() if prefix in line]
    if os.path.isdir("/etc/netns"):
        found += [f"/etc/netns/{n}" for n in os.listdir("/etc/netns") if n.startswith(prefix)]
    if marker is not None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and int(pid) != os.getpid():
                found.append(f"process {pid}")
    return found
