"""The Kubernetes CRI (containerd, CRI-O, cri-dockerd): `crictl` when installed, else the runtime's socket directly.

Talking to the socket needs no crictl (Debian does not package it, and a node image may lack it): a minimal gRPC
client of the `runtime.v1` RuntimeService, whose messages are generated from our cri.proto (field numbers as in
the published API; see scripts/gen-cri-proto). Sockets: CONTAINER_RUNTIME_ENDPOINT when set (crictl's variable,
`unix:///path` or a path), else every one of DEFAULT_SOCKETS that exists.

A pod's network namespace is its sandbox's: PodSandboxStatus(verbose) carries the runtime's JSON under "info",
where containerd and CRI-O give the sandbox process's "pid" (and containerd the OCI spec with the netns path).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lueur_net.errors import EnvironmentProblem
from lueur_net.lab.runtimes import Found, NotThere, Unreachable

HAS_PODS = True
ENDPOINT_VARIABLE = "CONTAINER_RUNTIME_ENDPOINT"
DEFAULT_SOCKETS = (
    "/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/run/cri-dockerd.sock",
)
TIMEOUT = 10.0  # seconds per call
SERVICE = "/runtime.v1.RuntimeService/"
RUNNING = 1  # ContainerState.CONTAINER_RUNNING
READY = 0  # PodSandboxState.SANDBOX_READY


def endpoints() -> list[str]:
    """The CRI sockets to ask, as unix:// addresses."""
    configured = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    if configured:
        return [configured if "://" in configured else f"unix://{configured}"]
    return [f"unix://{path}" for path in DEFAULT_SOCKETS if os.path.exists(path)]


def present() -> str | None:
    if shutil.which("crictl") or endpoints():
        return None
    return f"neither crictl nor a CRI socket ({', '.join(DEFAULT_SOCKETS)}; or set {ENDPOINT_VARIABLE})"


class Client:
    """A connection to one CRI socket; `call("ListPodSandbox", request)` returns the response message."""

    def __init__(self, endpoint: str) -> None:
        try:
            import grpc
        except ImportError:
            raise EnvironmentProblem(
                "talking to the CRI socket needs grpcio, which is not installed",
                hint="pip install grpcio protobuf (lueur-net's dependencies), or install crictl",
            ) from None
        from lueur_net.lab.runtimes import cri_pb2

        self.endpoint = endpoint
        self.messages: Any = cri_pb2
        self._grpc = grpc
        self._channel = grpc.insecure_channel(endpoint)

    def call(self, method: str, request: Any) -> Any:
        response_type = response_message(self.messages, method)
        stub = self._channel.unary_unary(
            SERVICE + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        try:
            return stub(request, timeout=TIMEOUT)
        except self._grpc.RpcError as error:
            code = error.code()
            details = error.details() or str(code)
            if code == self._grpc.StatusCode.UNIMPLEMENTED:
                raise NoCri(f"{self.endpoint} serves no CRI runtime.v1 (no CRI plugin, or a runtime older than "
                            f"Kubernetes 1.23's CRI): {details}") from None
            raise Unreachable(f"cri ({self.endpoint}): {method}: {details}") from None

    def close(self) -> None:
        self._channel.close()


def response_message(messages: Any, method: str) -> Any:
    """The response message class of RuntimeService's `method`, as cri.proto declares it (several methods share
    one response message, so the name is not always `method + "Response"`)."""
    output = messages.DESCRIPTOR.services_by_name["RuntimeService"].methods_by_name[method].output_type
    return getattr(messages, output.name)


class NoCri(Unreachable):
    """The socket answers gRPC but not the CRI's runtime.v1 service."""


def _answering(ask: Callable[[str], list[Found]]) -> list[Found]:
    """`ask` on every endpoint. A default socket that serves no CRI (docker's containerd has no CRI plugin, at
    containerd's path) is skipped: when none serves it, the CRI is not there (NotThere). A socket named in
    CONTAINER_RUNTIME_ENDPOINT that serves no CRI is the user's to know: Unreachable."""
    found: list[Found] = []
    skipped: list[str] = []
    failed: list[str] = []
    asked = endpoints()
    for endpoint in asked:
        try:
            found.extend(ask(endpoint))
        except NoCri as error:
            if os.environ.get(ENDPOINT_VARIABLE, "").strip():
                raise Unreachable(f"cri: {error}") from None
            skipped.append(str(error))
        except Unreachable as error:
            failed.append(str(error))
    if failed and not found:
        raise Unreachable("; ".join(failed))
    if len(skipped) == len(asked) and skipped:
        raise NotThere("; ".join(skipped))
    return found


@contextmanager
def client(endpoint: str) -> Iterator[Client]:
    connection = Client(endpoint)
    try:
        yield connection
    finally:
        connection.close()


def _info_pid(info: Any) -> tuple[int, str]:
    """(pid, netns path) from a verbose status's "info" JSON; (0, "") when absent."""
    try:
        data = json.loads(info.get("info", "") or "{}")
    except ValueError:
        return 0, ""
    pid = int(data.get("pid") or 0)
    netns = ""
    spec = data.get("runtimeSpec") or {}
    for namespace in (spec.get("linux") or {}).get("namespaces") or []:
        if namespace.get("type") == "network" and namespace.get("path"):
            netns = str(namespace["path"])
    return pid, netns


def containers(ref: str) -> list[Found]:
    if shutil.which("crictl"):
        return _crictl_containers(ref)

    def ask(endpoint: str) -> list[Found]:
        found: list[Found] = []
        with client(endpoint) as cri:
            listed = cri.call("ListContainers", cri.messages.ListRequest()).containers
            exact = [c for c in listed if c.id == ref]
            # An ID prefix as crictl and docker take it; a container name only when it is exact.
            matching = exact or [c for c in listed if c.id.startswith(ref) or c.metadata.name == ref]
            for container in matching:
                status = cri.call(
                    "ContainerStatus", cri.messages.StatusRequest(id=container.id, verbose=True)
                )
                pid, netns = _info_pid(status.info)
                running = container.state == RUNNING
                found.append(Found(f"cri ({endpoint})", container.id, container.metadata.name, pid, running, netns))
        return found

    return _answering(ask)


def pods(namespace: str, name: str) -> list[Found]:
    if shutil.which("crictl"):
        return _crictl_pods(namespace, name)

    def ask(endpoint: str) -> list[Found]:
        found: list[Found] = []
        with client(endpoint) as cri:
            listed = cri.call("ListPodSandbox", cri.messages.ListRequest()).items
            matching = [p for p in listed if p.metadata.namespace == namespace and p.metadata.name == name]
            # A pod that restarted keeps its old, not-ready sandboxes next to the ready one: the ready one is it.
            ready = [p for p in matching if p.state == READY]
            for sandbox in ready or matching[:1]:
                status = cri.call(
                    "PodSandboxStatus", cri.messages.StatusRequest(id=sandbox.id, verbose=True)
                )
                pid, netns = _info_pid(status.info)
                running = sandbox.state == READY
                found.append(Found(f"cri ({endpoint})", sandbox.id, f"{namespace}/{name}", pid, running, netns))
        return found

    return _answering(ask)


def _crictl(*arguments: str) -> Any:
    from lueur_net.lab.runtimes._cli import NOT_FOUND, TIMEOUT as CLI_TIMEOUT

    try:
        done = subprocess.run(
            ["crictl", *arguments], capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unreachable(f"crictl: no answer within {CLI_TIMEOUT} s") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if any(word in message.lower() for word in NOT_FOUND):
            return None
        raise Unreachable(f"crictl: {message}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise Unreachable(f"crictl: unexpected output {done.stdout.strip()[:80]!r}") from None


def _crictl_found(data: Any, name: str) -> Found:
    try:
        status = data["status"]
        pid, netns = _info_pid({"info": json.dumps(data.get("info") or {})})
        state = str(status.get("state", ""))
        return Found("cri (crictl)", str(status["id"]), name or status["metadata"]["name"], pid,
                     state in ("CONTAINER_RUNNING", "SANDBOX_READY"), netns)
    except (KeyError, TypeError):
        raise Unreachable(f"crictl: unexpected inspect output {json.dumps(data)[:80]!r}") from None


def _crictl_containers(ref: str) -> list[Found]:
    data = _crictl("inspect", ref)
    return [] if data is None else [_crictl_found(data, "")]


def _crictl_pods(namespace: str, name: str) -> list[Found]:
    # --name is a regular expression in crictl: filter exactly here.
    listed = _crictl("pods", "--namespace", namespace, "--name", name, "-o", "json") or {}
    matching = [
        item for item in listed.get("items") or []
        if item.get("metadata", {}).get("name") == name and item.get("metadata", {}).get("namespace") == namespace
    ]
    ready = [item for item in matching if item.get("state") == "SANDBOX_READY"]
    found = []
    for item in ready or matching[:1]:
        data = _crictl("inspectp", str(item["id"]))
        if data is not None:
            found.append(_crictl_found(data, f"{namespace}/{name}"))
    return found
