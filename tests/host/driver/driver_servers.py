"""Local HTTP servers for the driver's host tests and benchmark, on 127.0.0.1 (or a test namespace's lo).

A tiny threaded HTTP/1.1 server with keep-alive and TCP_NODELAY (http.server's keep-alive stalls ~44 ms on
Nagle + delayed ACK, which would look like injected latency). Behaviours: "ok" (200 at once), "sleep"
(answers after `delay_s`), "never" (reads the request and never answers), "reset" (reads the request, then
closes with SO_LINGER 0 so the client gets an RST), "close" (reads the request, then closes without answering: a
FIN, no RST), "chunked" (200 with a chunked body, CHUNKED_PARTS). `connections` counts accepted connections.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

RESPONSE_BODY = b'{"message":"Hello, World!"}'
CHUNKED_PARTS = (b'{"message":', b'"Hello, ', b'chunked World!"}')


@dataclass
class LocalServer:
    behaviour: str = "ok"
    delay_s: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    connections: int = 0
    _socket: socket.socket | None = None
    _stopping: bool = False
    _connections: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> LocalServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(1024)
        self.port = listener.getsockname()[1]
        self._socket = listener
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._socket.close()
        with self._lock:
            for connection in self._connections:
                try:
                    connection.close()
                except OSError:
                    pass

    def stop_connections(self) -> None:
        """Close every accepted connection (as a server dropping idle keep-alive connections), keep listening."""
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections.clear()

    def _accept_loop(self) -> None:
        assert self._socket is not None
        while not self._stopping:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.append(connection)
                self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping:
                while b"\r\n\r\n" not in buffer:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(buffer) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                buffer = buffer[length:]
                with self._lock:
                    self.requests += 1
                if self.behaviour == "never":
                    while not self._stopping and connection.recv(65536):
                        pass
                    return
                if self.behaviour == "reset":
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.close()
                    return
                if self.behaviour == "close":
                    connection.close()
                    return
                if self.behaviour == "chunked":
                    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in CHUNKED_PARTS)
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
                    continue
                if self.behaviour == "sleep":
                    time.sleep(self.delay_s)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(RESPONSE_BODY)).encode()
                    + b"\r\n\r\n"
                    + RESPONSE_BODY
                )
        except OSError:
            return
        finally:
            try:
                connection.close()
            except OSError:
                pass


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound then released; connecting is refused)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port
