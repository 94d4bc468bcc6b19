"""The lab's DNS responder (Lab.create(..., dns=True)): lookups cross the lab's path, so DNS faults apply to them.

Without it the client namespace resolves its upstream names from its hosts file and never queries the network.
With it, the client's resolv.conf names the host end of its veth; the host's nat table redirects UDP port 53 there
to this responder, a thread of the lab's owning process with one socket bound to the host end's address (nothing
outlives the process). It answers:
- A: the addresses the host resolves the name to (upstream names: the address the lab classified first);
- AAAA and other types for a known name: NOERROR with no answer (clients fall back to IPv4, the lab's family);
- unknown names: NXDOMAIN.
Parsing and encoding are pure functions (unit-tested against dnslib); only Responder has effects.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

TYPE_A = 1
CLASS_IN = 1
RCODE_OK = 0
RCODE_FORMERR = 1
RCODE_NXDOMAIN = 3
TTL = 5  # seconds: short, so a run's changing faults are not hidden by caches
HEADER = struct.Struct("!HHHHHH")


@dataclass(frozen=True)
class Query:
    ident: int
    flags: int
    name: str  # lower-case, no trailing dot
    qtype: int
    qclass: int
    question: bytes  # the question section as received, echoed in the answer


def parse_query(data: bytes) -> Query | None:
    """The first question of a standard query, or None when the packet is not one we can answer."""
    if len(data) < HEADER.size:
        return None
    ident, flags, qdcount, _, _, _ = HEADER.unpack_from(data)
    if flags & 0x8000 or (flags >> 11) & 0xF != 0 or qdcount < 1:  # a response, or not a standard query
        return None
    labels: list[str] = []
    offset = HEADER.size
    while True:
        if offset >= len(data):
            return None
        length = data[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0 or offset + length > len(data):  # no compression in a question we parse
            return None
        labels.append(data[offset : offset + length].decode("ascii", "replace").lower())
        offset += length
    if offset + 4 > len(data):
        return None
    qtype, qclass = struct.unpack_from("!HH", data, offset)
    return Query(ident, flags, ".".join(labels), qtype, qclass, data[HEADER.size : offset + 4])


def build_response(query: Query, addresses: list[str], rcode: int = RCODE_OK) -> bytes:
    """An answer to `query` with one A record per address (only for A/IN questions)."""
    records = b""
    answers = addresses if (rcode == RCODE_OK and query.qtype == TYPE_A and query.qclass == CLASS_IN) else []
    for address in answers:
        records += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, 4) + ipaddress.IPv4Address(address).packed
    flags = 0x8000 | (query.flags & 0x0100) | 0x0080 | 0x0400 | rcode  # QR, RD copied, RA, AA, rcode
    return HEADER.pack(query.ident, flags, 1, len(answers), 0, 0) + query.question + records


Lookup = Callable[[str], list[str]]


def host_lookup(name: str) -> list[str]:
    """IPv4 addresses the host resolves `name` to; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(name, None, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def answer(data: bytes, known: dict[str, str], lookup: Lookup = host_lookup) -> bytes | None:
    """The response to one query packet: `known` names first (upstreams as classified), then the host's resolver."""
    query = parse_query(data)
    if query is None:
        return None
    if not query.name:
        return build_response(query, [], RCODE_FORMERR)
    addresses = [known[query.name]] if query.name in known else lookup(query.name)
    if not addresses:
        return build_response(query, [], RCODE_NXDOMAIN)
    return build_response(query, addresses)


class Responder:
    """A UDP DNS responder on (address, ephemeral port) in the calling thread's namespace, served by a thread."""

    def __init__(self, address: str, known: dict[str, str], lookup: Lookup = host_lookup) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((address, 0))
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self._known = dict(known)
        self._lookup = lookup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"lueur-dns-{address}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            response = answer(data, self._known, self._lookup)
            if response is not None:
                try:
                    self._socket.sendto(response, peer)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()
