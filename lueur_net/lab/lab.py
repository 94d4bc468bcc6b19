"""The lab of one run: a client namespace wired to the host (and to a server namespace with --serve), or an
attached namespace; it hands the data plane a Path per upstream URL and reverts everything on close().

    with Ledger.open("run") as ledger, Lab.create(urls, ledger, serve=ServeSpec("uvicorn app:app")) as lab:
        path = lab.paths["http://localhost:9090/"]      # client end + server end, (netns, ifindex)
        run_in_netns(lab.client_netns, call, ...)        # the URL works there exactly as written

Every kernel object and process is recorded in the ledger before it is created; close() removes them in reverse
order through the same removers `lueur-net clean` uses after a SIGKILL.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab import addressing, links, nat, serve
from lueur_net.lab.safety import deadline_after
from lueur_net.lab.addressing import Block
from lueur_net.lab.attach import attach
from lueur_net.lab.dns import Responder
from lueur_net.lab.enter import NETNS_ETC_DIR, in_netns_thread
from lueur_net.lab.serve import ServerProcess, ServeSpec
from lueur_net.lab.topology import Endpoint, Path
from lueur_net.lab.upstreams import (
    Upstream,
    classify,
    host_listens,
    hosts_file,
    loopback_targets,
    refuse_ipv6_only,
)
from lueur_net.ledger import Entry, Ledger, remove_entry

DEFAULT_MAX_LIFETIME = 3600.0  # seconds; a fault never outlives this (see Lab.deadline)
# The lab's names are all in its hosts file, and no DNS server is reachable from it (the host does not forward):
# point the resolver at the namespace's own loopback, where nothing listens, so an unknown name fails at once
# instead of waiting for the host's nameservers to time out.
RESOLV_CONF = (
    "# written by lueur-net: this lab's upstream names are in /etc/hosts; no DNS server is reachable from it\n"
    "nameserver 127.0.0.1\n"
    "options timeout:1 attempts:1\n"
)
# With the lab's DNS responder: only loopback names stay in the hosts file, every other name is queried.
DNS_HOSTS = "# written by lueur-net: names other than these are resolved by the lab's DNS responder\n" \
    "127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback\n"


def dns_resolv_conf(nameserver: str) -> str:
    return f"# written by lueur-net: the lab's DNS responder\nnameserver {nameserver}\noptions timeout:1 attempts:2\n"


def require_root() -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "lueur-net needs root to build network namespaces (CAP_NET_ADMIN, CAP_SYS_ADMIN)",
            hint="run it with sudo",
        )


@dataclass(frozen=True)
class Names:
    """Every name a lab uses: `lueur` + the run id, so runs never collide and `clean` knows its own."""

    base: str

    @classmethod
    def for_run(cls, run_id: str) -> Names:
        return cls(f"lueur{run_id}")

    @property
    def client_netns(self) -> str:
        return f"{self.base}-c"

    @property
    def server_netns(self) -> str:
        return f"{self.base}-s"

    @property
    def host_end(self) -> str:  # in the host namespace
        return f"{self.base}h"

    @property
    def client_end(self) -> str:  # in the client namespace, facing the host
        return f"{self.base}c"

    @property
    def client_to_server(self) -> str:  # in the client namespace, facing the server namespace
        return f"{self.base}x"

    @property
    def server_end(self) -> str:  # in the server namespace
        return f"{self.base}s"

    @property
    def host_table(self) -> str:
        return self.base


def host_ipv4_addresses() -> set[str]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return {str(a.get_attr("IFA_ADDRESS")) for a in ipr.get_addr(family=2)}


def load_side_by_side(loads: Sequence[Callable[[], None]]) -> None:
    """Run independent ruleset loads at once, each in its own thread; every one is awaited, the first error raised
    (the lab's close() then removes what was recorded, loaded or not)."""
    with ThreadPoolExecutor(max_workers=max(1, len(loads)), thread_name_prefix="lueur-nft") as pool:
        futures = [pool.submit(load) for load in loads]
    for future in futures:
        future.result()


@dataclass
class Lab:
    """Use Lab.create(...) or Lab.attach(...); a context manager that calls close()."""

    ledger: Ledger
    client_netns: str  # an `ip netns` name (created) or nsfs path (attached): what run_in_netns takes
    server_netns: str | None = None  # with --serve
    block: Block | None = None
    host_path: Path | None = None  # client namespace <-> host
    server_path: Path | None = None  # client namespace <-> server namespace (with --serve)
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)  # upstream URL as written -> its path
    deadline: float = 0.0  # time.monotonic() after which no fault may stay active
    server: ServerProcess | None = None
    attached: bool = False
    setup_seconds: float = 0.0
    serve_seconds: float = 0.0  # of setup_seconds, the --serve command's own start until its port answered
    _undo: list[tuple[Entry, Callable[[], None]]] = field(default_factory=list, repr=False)
    _closed: bool = False
    _owner_pid: int = field(default_factory=os.getpid, repr=False)
    _dns: Responder | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.ledger.run_id

    @property
    def deadline_ns(self) -> int:
        """The deadline on CLOCK_MONOTONIC in nanoseconds: what a BPF program compares bpf_ktime_get_ns() with."""
        return int(self.deadline * 1e9)

    def path_for(self, url: str) -> Path:
        try:
            return self.paths[url]
        except KeyError:
            raise BadInput(f"{url} is not an upstream of this lab") from None

    # ----- building -----

    def _record(self, kind: str, undo: Callable[[], None] | None = None, **fields: Any) -> Entry:
        entry = self.ledger.record(kind, **fields)
        self._undo.append((entry, undo or (lambda: remove_entry(entry))))
        return entry

    def _forget(self, entry: Entry) -> None:
        """The object was never created (e.g. the name was taken): drop the entry without removing anything."""
        self._undo = [(e, u) for e, u in self._undo if e.seq != entry.seq]
        self.ledger.done(entry)

    def _create_netns(self, name: str) -> None:
        if links.netns_exists(name):
            raise links.name_clash("network namespace", name)
        entry = self._record("netns", name=name)
        try:
            links.create_netns(name)
        except EnvironmentProblem:
            if not links.netns_exists(name):
                self._forget(entry)
            raise

    def _write_netns_etc(self, name: str, hosts: str, resolv_conf: str = RESOLV_CONF) -> None:
        """/etc/netns/NAME/{hosts,resolv.conf}: bind-mounted over /etc by run_in_netns/enter_netns."""
        directory = NETNS_ETC_DIR / name
        if directory.exists():
            raise links.name_clash("directory", str(directory))
        self._record("netns_etc", name=name)
        directory.mkdir(parents=True)
        (directory / "hosts").write_text(hosts)
        (directory / "resolv.conf").write_text(resolv_conf)

    @classmethod
    def create(
        cls,
        upstreams: list[str],
        ledger: Ledger,
        serve: ServeSpec | None = None,
        *,
        pool: str | None = None,
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
        dns: bool = False,
    ) -> Lab:
        """Build a client lab that reaches every URL of `upstreams` as written; revert all on any failure.

        `dns`: resolve names through the lab's DNS responder across the path (needed for DNS faults) instead of
        the namespace's hosts file.
        """
        began = time.monotonic()
        # Refuse before touching: everything below this block can be checked without changing anything.
        require_root()
        local = host_ipv4_addresses()
        classified = {url: classify(url, local) for url in dict.fromkeys(upstreams)}
        targets = loopback_targets(classified.values())
        served: dict[int, str] = {}
        if serve is not None:
            from lueur_net.lab.serve import validate

            validate(serve)
            if not targets:
                raise BadInput(
                    "--serve needs an upstream on localhost (e.g. http://localhost:9090/) to know the server's port"
                )
            if serve.ports is not None:
                wanted = set(serve.ports)
            else:
                # Ports something on the host already serves stay the host's (the server's own dependencies).
                wanted = {port for port, address in targets.items() if not host_listens(address, port)}
                if not wanted:
                    raise BadInput(
                        "--serve: every loopback upstream port already has a listener on this host ("
                        + ", ".join(str(p) for p in sorted(targets)) + "), so none is left for the server",
                        hint="stop the copy running on the host, or name the server's ports explicitly",
                    )
            missing = wanted - set(targets)
            if missing:
                raise BadInput(f"--serve port(s) {sorted(missing)} match no loopback upstream URL")
            served = {port: targets.pop(port) for port in sorted(wanted)}
        for upstream in classified.values():
            if upstream.port in targets:  # served by the host, not by --serve
                refuse_ipv6_only(upstream)
        pool_network = addressing.parse_pool(pool)
        nat.nft_binary()
        host_hosts = FilePath("/etc/hosts").read_text() if FilePath("/etc/hosts").exists() else ""

        names = Names.for_run(ledger.run_id)
        lab = cls(ledger=ledger, client_netns=names.client_netns, upstreams=classified)
        lab.deadline = deadline_after(max_lifetime)
        try:
            lab._build(names, pool_network, targets, served, host_hosts, serve, dns)
        except BaseException:
            lab.close()
            raise
        lab.setup_seconds = time.monotonic() - began
        return lab

    def _build(
        self,
        names: Names,
        pool: ipaddress.IPv4Network,
        host_targets: dict[int, str],
        served: dict[int, str],
        host_hosts: str,
        spec: ServeSpec | None,
        dns: bool,
    ) -> None:
        client = names.client_netns
        with addressing.allocation_lock():
            block = addressing.choose_block(pool, addressing.host_networks(), start=int(self.run_id, 16))
            self.block = block
            self._create_netns(client)
            with links.open_netns(None) as host:
                if host.link_lookup(ifname=names.host_end):
                    raise links.name_clash("host interface", names.host_end)
                self._record("link", ifname=names.host_end, netns=None)
                links.create_veth(host, names.host_end, names.client_end, client, "the host")
                host_index = links.configure(host, names.host_end, block.host, Block.LINK_PREFIX, "the host")
        links.set_sysctl(None, f"net.ipv4.conf.{names.host_end}.route_localnet", "1")
        dns_port = None
        if dns:
            known = {u.hostname: u.address for u in self.upstreams.values() if u.is_name}
            self._dns = Responder(block.host, known)
            dns_port = self._dns.port
        if nat.table_exists("ip", names.host_table):
            raise links.name_clash("nft table ip", names.host_table)
        self._record("nft_table", family="ip", name=names.host_table, netns=None)
        # The three rulesets (host, server namespace, client namespace) are independent: each is an `nft -f`
        # process (~10 ms each, measured), loaded side by side at the end of the build instead of one by one.
        loads: list[Callable[[], None]] = [functools.partial(
            nat.load, nat.arrival_ruleset(names.host_table, names.host_end, block.host, host_targets, dns_port),
            "the host")]

        with links.open_netns(client) as ns:
            client_index = links.configure(
                ns, names.client_end, block.client, Block.LINK_PREFIX, client, gateway=block.host
            )
            links.set_sysctl(client, f"net.ipv4.conf.{names.client_end}.route_localnet", "1")
            self.host_path = Path(
                Endpoint(client, names.client_end, client_index, block.client),
                Endpoint(None, names.host_end, host_index, block.host),
            )
            snat = {names.client_end: block.client}
            if spec is not None:
                server_ns = names.server_netns
                self._create_netns(server_ns)
                self.server_netns = server_ns
                links.create_veth(ns, names.client_to_server, names.server_end, server_ns, client)
                x_index = links.configure(ns, names.client_to_server, block.client_to_server, Block.LINK_PREFIX, client)
                links.set_sysctl(client, f"net.ipv4.conf.{names.client_to_server}.route_localnet", "1")
                snat[names.client_to_server] = block.client_to_server
                with links.open_netns(server_ns) as sns:
                    s_index = links.configure(
                        sns, names.server_end, block.server, Block.LINK_PREFIX, server_ns,
                        gateway=block.client_to_server,
                    )
                links.set_sysctl(server_ns, f"net.ipv4.conf.{names.server_end}.route_localnet", "1")
                # The server's own dependencies on the host's loopback: DNAT them to the host end, through the
                # client namespace (which forwards, inside itself only, and SNATs them to its own address).
                dependencies = [
                    nat.Redirect(u.address, u.port, block.host)
                    for u in self.upstreams.values()
                    if u.where == "loopback" and u.port in host_targets
                ]
                loads.append(functools.partial(
                    in_netns_thread, server_ns, nat.load,
                    nat.arrival_ruleset(nat.NAMESPACE_TABLE, names.server_end, block.server, served)
                    + nat.client_ruleset(list(dict.fromkeys(dependencies)), {names.server_end: block.server}),
                    server_ns,
                ))
                links.set_sysctl(client, "net.ipv4.ip_forward", "1")  # the client namespace's own setting
                self.server_path = Path(
                    Endpoint(client, names.client_to_server, x_index, block.client_to_server),
                    Endpoint(server_ns, names.server_end, s_index, block.server),
                )

        redirects = [
            nat.Redirect(u.address, u.port, block.server if u.port in served else block.host)
            for u in self.upstreams.values()
            if u.where == "loopback"
        ]
        forwarded = {block.server: (names.client_end, block.client)} if spec is not None else None
        loads.append(functools.partial(
            in_netns_thread, client, nat.load, nat.client_ruleset(list(dict.fromkeys(redirects)), snat, forwarded),
            client,
        ))
        load_side_by_side(loads)
        hosts = hosts_file(self.upstreams.values(), host_hosts)
        if dns:
            self._write_netns_etc(client, DNS_HOSTS, dns_resolv_conf(block.host))
        else:
            self._write_netns_etc(client, hosts)
        for url, upstream in self.upstreams.items():
            served_here = upstream.where == "loopback" and upstream.port in served
            path = self.server_path if served_here else self.host_path
            assert path is not None
            self.paths[url] = path
        if spec is not None and self.server_netns is not None:
            self._write_netns_etc(self.server_netns, hosts)
            self._start_server(spec, served)

    def _start_server(self, spec: ServeSpec, served: dict[int, str]) -> None:
        assert self.server_netns is not None
        log = self.ledger.path.parent / f"{self.run_id}.serve.log"
        self._record("file", path=str(log))

        def record(pid: int, start_time: int | None) -> None:
            # Stopped like anything `clean` stops: SIGTERM to the group, SIGKILL after a grace (removers.py).
            self._record("process", pid=pid, start_time=start_time, pgid=pid, command=spec.command)

        began = time.monotonic()
        self.server = serve.start(spec, self.server_netns, log, record)
        probes = [
            (u.address, u.port) for u in self.upstreams.values() if u.where == "loopback" and u.port in served
        ]
        serve.wait_ready(self.server, self.client_netns, list(dict.fromkeys(probes)), spec.ready_timeout)
        self.serve_seconds = time.monotonic() - began

    @classmethod
    def attach(
        cls,
        target: str,
        upstreams: list[str],
        ledger: Ledger,
        *,
        iface: str | None = None,
        allow_host_interface: bool = False,
        max_lifetime: float = DEFAULT_MAX_LIFETIME,
    ) -> Lab:
        """Use an existing namespace as the client side: calls run there; URLs resolve as that namespace sees them.

        Creates nothing. Every URL maps to the one path (the attached interface and, if found, its host peer).
        """
        require_root()
        # Refuses the host's namespace (lueur-net's own or the machine's initial one) unless allowed.
        attachment = attach(target, iface, allow_host_interface=allow_host_interface)
        lab = cls(ledger=ledger, client_netns=attachment.target, attached=True)
        lab.deadline = deadline_after(max_lifetime)
        lab.host_path = attachment.path
        lab.paths = {url: attachment.path for url in dict.fromkeys(upstreams)}
        return lab

    # ----- tearing down -----

    def close(self) -> None:
        """Revert everything this lab created, newest first; report what could not be removed."""
        if self._closed:
            return
        if os.getpid() != self._owner_pid:
            # A forked child (run_in_netns's worker, a pyroute2 helper) unwinding a copy of our stack: the lab
            # belongs to the parent, which reverts it.
            return
        self._closed = True
        if self._dns is not None:
            self._dns.close()
        failures: list[str] = []
        # A second Ctrl-C or SIGTERM must not cut the revert short: hold them until it is finished.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        try:
            for entry, undo in reversed(self._undo):
                try:
                    undo()
                except Exception as error:  # noqa: BLE001 - keep reverting the rest, report at the end
                    failures.append(f"{entry.describe()}: {error}")
                    continue
                self.ledger.done(entry)
            self._undo.clear()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if failures:
            raise EnvironmentProblem(
                "could not revert everything; `sudo lueur-net clean` retries: " + "; ".join(failures)
            )

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Names and addresses, for `lab up`/`lab list` and reports."""

        def endpoint(e: Endpoint | None) -> dict[str, Any] | None:
            if e is None:
                return None
            return {"netns": e.netns, "ifname": e.ifname, "ifindex": e.ifindex, "address": e.address, "owned": e.owned}

        return {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "client_netns": self.client_netns,
            "server_netns": self.server_netns,
            "block": str(self.block.network) if self.block else None,
            "host_path": {"client": endpoint(self.host_path.client), "server": endpoint(self.host_path.server)}
            if self.host_path else None,
            "server_path": {"client": endpoint(self.server_path.client), "server": endpoint(self.server_path.server)}
            if self.server_path else None,
            "upstreams": {url: {"address": u.address, "port": u.port, "where": u.where}
                          for url, u in self.upstreams.items()},
            "server_pid": self.server.pid if self.server else None,
            "server_log": str(self.server.log) if self.server else None,
            "attached": self.attached,
        }
