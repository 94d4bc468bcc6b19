"""Real container runtimes for the runtime tier, and for other tests (inject) to reuse: conftest.py registers these
fixtures for tests/runtime; a test imports RuntimeTarget, namespace_state and the constants from here.

Fixtures (session-scoped: each runtime starts once per test session):
- `cri_pod`: containerd (Debian's package) started with a private root, state, socket and CNI configuration, its
  CRI plugin on; an image built here from the static busybox is imported with `ctr`; a pod sandbox and a busybox
  httpd container are created through the CRI (our gRPC client). Yields a RuntimeTarget with `pod:NS/NAME`.
- `podman_container`: podman with a private storage (CONTAINERS_STORAGE_CONF), an image imported from the same
  root filesystem, a busybox httpd container. Yields a RuntimeTarget with `container:ID`.
A runtime that is missing or cannot start skips its tests with the reason. Everything is stopped and removed at
the end: pods, containers, the daemons, their state directories and mounts, and the bridges the tier created.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import runtime_images as images

HTTP_PORT = 8080
CRI_BRIDGE, CRI_SUBNET = "lnrt0", "10.89.77"  # the tier's own CNI bridge and /24
PODMAN_BRIDGE = "cni-podman0"  # podman's default network (Debian's podman 4.3 with CNI)
POD_NAMESPACE, POD_NAME = "lueur-rt", "web"
# Both runtimes name their httpd container so: `container:NAME` is then ambiguous between them, on purpose.
CONTAINER_NAME = "lueur-rt-httpd"
# podman asks for more than this machine's hard limits without these (machine-facts.md).
PODMAN_ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


@dataclass
class RuntimeTarget:
    """A running container with busybox httpd on HTTP_PORT, reachable from the host at `address`."""

    target: str  # what --attach takes: pod:NS/NAME or container:ID
    container: str  # container:ID of the httpd container (for a pod, the one in it)
    address: str  # its IPv4 address, reachable from the host
    iface: str  # the interface in its namespace (the fault interface)
    netns: str  # /proc/PID/ns/net, to inspect it
    gateway: str  # the host's address on the bridge (a server there is reachable from the container)
    env: dict[str, str] = field(default_factory=dict)  # what a lueur-net subprocess needs to resolve it

    @property
    def url(self) -> str:
        return f"http://{self.address}:{HTTP_PORT}/index.html"


def run(*command: str, timeout: float = 60, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
    return done


def namespace_state(netns: str, iface: str) -> list[str]:
    """What a fault could leave in the container's namespace, without counters (they change with traffic)."""
    def inside(*command: str) -> str:
        return run("nsenter", f"--net={netns}", *command).stdout

    return [
        inside("tc", "qdisc", "show"),
        inside("tc", "filter", "show", "dev", iface, "ingress"),
        inside("tc", "filter", "show", "dev", iface, "egress"),
        "\n".join(line for line in inside("iptables-save").splitlines() if line.startswith("-")),
        # The whole ruleset, counters aside: the emptied `table ip mangle` iptables-nft kept after our rule was
        # once left here; it goes with the rule now (rule.drop_table_if_empty), and a table left would show.
        re.sub(r"counter packets \d+ bytes \d+", "counter",
               inside("nft", "list", "ruleset") if shutil.which("nft") else ""),
        inside("ip", "-o", "link", "show").replace(" state UP", ""),
        inside("ip", "-o", "addr", "show"),
        inside("ip", "route", "show"),
    ]


def wait_http(url: str, seconds: float = 20) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds} s")
        time.sleep(0.2)


def _interface_exists(name: str) -> bool:
    return run("ip", "link", "show", name, check=False).returncode == 0


def _unmount_under(directory: Path) -> None:
    """Lazily unmount whatever a runtime left mounted under `directory` (overlay rootfs, shm, netns), deepest first."""
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    for point in sorted((p for p in points if p.startswith(str(directory) + "/")), key=len, reverse=True):
        run("umount", "-l", point, check=False)


@pytest.fixture(scope="session")
def rootfs() -> bytes:
    busybox = images.static_busybox()
    if busybox is None:
        pytest.skip("no static busybox (Debian: busybox-static) to build the test image from")
    return images.rootfs_tar(busybox)


# ----- containerd through the CRI -----

CONTAINERD_CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{image}"
  disable_apparmor = true
  # The sandbox asks for oom_score_adj -998; unprivileged VMs (this one) refuse lowering it: keep containerd's own.
  restrict_oom_score_adj = true
  # Pod network namespaces under our state directory, not /run/netns, so none can be left there.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/net.d"
"""

CNI_CONFIG = """{{"cniVersion": "0.4.0", "name": "lueur-rt", "plugins": [{{"type": "bridge", "bridge": "{bridge}",
 "isGateway": true, "ipMasq": false, "ipam": {{"type": "host-local", "dataDir": "{d}/ipam",
 "ranges": [[{{"subnet": "{subnet}.0/24"}}]], "routes": [{{"dst": "0.0.0.0/0"}}]}}}}]}}
"""

CRI_IMAGE = "localhost/lueur-rt-busybox:1"


def _start_containerd(directory: Path, rootfs: bytes) -> subprocess.Popen:
    for tool in ("containerd", "ctr", "runc"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (setup.sh installs containerd and runc)")
    if not Path("/usr/lib/cni/bridge").exists():
        pytest.skip("the CNI plugins are not installed (Debian: containernetworking-plugins)")
    if _interface_exists(CRI_BRIDGE):
        pytest.skip(f"interface {CRI_BRIDGE} already exists: another runtime tier running, or a leftover")
    (directory / "net.d").mkdir()
    (directory / "net.d" / "10-lueur-rt.conflist").write_text(
        CNI_CONFIG.format(d=directory, bridge=CRI_BRIDGE, subnet=CRI_SUBNET))
    (directory / "config.toml").write_text(CONTAINERD_CONFIG.format(d=directory, image=CRI_IMAGE))
    log = open(directory / "containerd.log", "wb")  # noqa: SIM115 - kept open for the daemon's life
    daemon = subprocess.Popen(["containerd", "--config", str(directory / "config.toml")], stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    socket = directory / "containerd.sock"
    deadline = time.monotonic() + 20
    while not socket.exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            tail = (directory / "containerd.log").read_text(errors="replace")[-400:]
            _stop(daemon)
            pytest.skip(f"containerd did not start: {tail}")
        time.sleep(0.1)
    archive = directory / "image.tar"
    images.oci_archive(rootfs, CRI_IMAGE, ["/bin/busybox", "sleep", "2147483647"], archive)
    run("ctr", "--address", str(socket), "-n", "k8s.io", "images", "import", str(archive))
    return daemon


def _stop(daemon: subprocess.Popen) -> None:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)


def _processes_naming(directory: Path) -> list[int]:
    """Processes whose command line names `directory`: our containerd's shims, podman's conmon and the
    `podman ... container cleanup` it starts when a container exits (they all carry our private paths)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(directory).encode() in command:
            pids.append(int(entry.name))
    return pids


def _reap(directory: Path, seconds: float = 10) -> None:
    """Let the runtime's helper processes end by themselves (a cleanup still running would recreate what we remove
    next), then kill what is left."""
    deadline = time.monotonic() + seconds
    while _processes_naming(directory) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _processes_naming(directory):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def cri_pod(rootfs: bytes) -> Iterator[RuntimeTarget]:
    from lueur_net.lab.runtimes import cri

    directory = Path(tempfile.mkdtemp(prefix="lueur-rt-containerd-"))
    daemon = None
    endpoint = f"unix://{directory}/containerd.sock"
    saved = os.environ.get(cri.ENDPOINT_VARIABLE)
    sandbox = ""
    try:
        daemon = _start_containerd(directory, rootfs)
        os.environ[cri.ENDPOINT_VARIABLE] = endpoint  # resolution in this process asks our containerd
        with cri.client(endpoint) as client:
            m = client.messages
            config = m.PodSandboxConfig(
                metadata=m.PodSandboxMetadata(name=POD_NAME, namespace=POD_NAMESPACE, uid="lueur-rt-uid-1"),
                hostname=POD_NAME, log_directory=str(directory / "logs"))
            try:
                sandbox = client.call("RunPodSandbox", m.RunPodSandboxRequest(config=config)).pod_sandbox_id
            except cri.Unreachable as error:
                pytest.skip(f"containerd cannot run a pod sandbox here: {error}")
            container = m.ContainerConfig(
                metadata=m.ContainerMetadata(name=CONTAINER_NAME), image=m.ImageSpec(image=CRI_IMAGE),
                command=["/bin/busybox", "httpd", "-f", "-p", str(HTTP_PORT), "-h", "/www"], log_path="httpd.log")
            container_id = client.call("CreateContainer", m.CreateContainerRequest(
                pod_sandbox_id=sandbox, config=container, sandbox_config=config)).container_id
            client.call("StartContainer", m.StartContainerRequest(container_id=container_id))
        from lueur_net.lab.runtimes import resolve_pod

        netns = resolve_pod(f"{POD_NAMESPACE}/{POD_NAME}").target
        address = run("nsenter", f"--net={netns}", "ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3]
        target = RuntimeTarget(
            target=f"pod:{POD_NAMESPACE}/{POD_NAME}", container=f"container:{container_id}",
            address=address.split("/")[0], iface="eth0", netns=netns, gateway=f"{CRI_SUBNET}.1",
            env={cri.ENDPOINT_VARIABLE: endpoint})
        wait_http(target.url)
        yield target
    finally:
        if sandbox and daemon is not None and daemon.poll() is None:
            try:
                with cri.client(endpoint) as client:
                    m = client.messages
                    client.call("StopPodSandbox", m.PodSandboxRequest(pod_sandbox_id=sandbox))
                    client.call("RemovePodSandbox", m.PodSandboxRequest(pod_sandbox_id=sandbox))
            except cri.Unreachable:
                pass  # the directory goes below whatever containerd says
        if daemon is not None:
            _stop(daemon)
        _reap(directory)
        if saved is None:
            os.environ.pop(cri.ENDPOINT_VARIABLE, None)
        else:
            os.environ[cri.ENDPOINT_VARIABLE] = saved
        _unmount_under(directory)
        if _interface_exists(CRI_BRIDGE):
            run("ip", "link", "del", CRI_BRIDGE, check=False)
        shutil.rmtree(directory, ignore_errors=True)


# ----- podman -----

PODMAN_IMAGE = "localhost/lueur-rt-busybox:1"
# What podman creates on the machine on first use (seen with Debian's 4.3), even for `podman container inspect`
# (resolution asks podman whatever the target): its default storage, caches and run state. Removed at the end of the
# session if absent at its start; the parent folders only when empty (another podman user may have put something
# there meanwhile).
PODMAN_MACHINE_PATHS = ("/var/lib/containers/storage", "/var/lib/containers/cache", "/run/containers/storage",
                        "/var/lib/cni/networks/podman", "/run/libpod",
                        "/var/lib/cni/results")  # libcni's cache: containerd's CRI writes there too
PODMAN_MACHINE_PARENTS = ("/var/lib/containers", "/run/containers", "/var/lib/cni/networks", "/var/lib/cni")


@pytest.fixture(scope="session", autouse=True)
def podman_machine_paths() -> Iterator[None]:
    """Set up before, and so torn down after, every other fixture of the session."""
    created_paths = [path for path in PODMAN_MACHINE_PATHS if not os.path.exists(path)]
    created_parents = [path for path in PODMAN_MACHINE_PARENTS if not os.path.exists(path)]
    yield
    for path in created_paths:
        _unmount_under(Path(path))
        shutil.rmtree(path, ignore_errors=True)
    for path in created_parents:
        try:
            os.rmdir(path)
        except OSError:
            pass  # not empty: not only ours
STORAGE_CONF = """[storage]
driver = "overlay"
graphroot = "{d}/root"
runroot = "{d}/run"
"""


@pytest.fixture(scope="session")
def podman_container(rootfs: bytes) -> Iterator[RuntimeTarget]:
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (setup.sh installs it)")
    directory = Path(tempfile.mkdtemp(prefix="lueur-rt-podman-"))
    (directory / "storage.conf").write_text(STORAGE_CONF.format(d=directory))
    saved = os.environ.get("CONTAINERS_STORAGE_CONF")
    # Our own image and container store: nothing of this tier mixes with (or stays in) the machine's podman.
    os.environ["CONTAINERS_STORAGE_CONF"] = str(directory / "storage.conf")
    bridge_was_there = _interface_exists(PODMAN_BRIDGE)
    name = CONTAINER_NAME
    started = False
    try:
        (directory / "rootfs.tar").write_bytes(rootfs)
        imported = run("podman", "import", "--change",
                       f'CMD ["/bin/busybox", "httpd", "-f", "-p", "{HTTP_PORT}", "-h", "/www"]',
                       str(directory / "rootfs.tar"), PODMAN_IMAGE, check=False)
        if imported.returncode != 0:
            pytest.skip(f"podman cannot import an image here: {imported.stderr.strip()[-300:]}")
        started_run = run("podman", "run", "-d", "--name", name, *PODMAN_ULIMITS, PODMAN_IMAGE, check=False)
        if started_run.returncode != 0:
            pytest.skip(f"podman cannot run a container here: {started_run.stderr.strip()[-300:]}")
        started = True
        container_id = started_run.stdout.strip().splitlines()[-1]
        pid = run("podman", "container", "inspect", "--format", "{{.State.Pid}}", container_id).stdout.strip()
        netns = f"/proc/{pid}/ns/net"
        address = run("nsenter", f"--net={netns}", "ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3]
        gateway = run("ip", "-4", "-o", "addr", "show", PODMAN_BRIDGE).stdout.split()[3]
        target = RuntimeTarget(
            target=f"container:{container_id}", container=f"container:{container_id}",
            address=address.split("/")[0], iface="eth0", netns=netns, gateway=gateway.split("/")[0],
            env={"CONTAINERS_STORAGE_CONF": str(directory / "storage.conf")})
        wait_http(target.url)
        yield target
    finally:
        if started:
            run("podman", "rm", "-f", "-t", "0", name, check=False)
        run("podman", "rmi", "-f", PODMAN_IMAGE, check=False)
        if saved is None:
            os.environ.pop("CONTAINERS_STORAGE_CONF", None)
        else:
            os.environ["CONTAINERS_STORAGE_CONF"] = saved
        _unmount_under(directory)
        if not bridge_was_there and _interface_exists(PODMAN_BRIDGE):
            run("ip", "link", "del", PODMAN_BRIDGE, check=False)  # podman rm leaves it (machine-facts.md)
        _reap(directory)  # conmon and its `podman container cleanup`, before podman_machine_paths removes their files
        shutil.rmtree(directory, ignore_errors=True)
