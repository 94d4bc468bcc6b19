"""The CRI client on the wire: a gRPC server in this process serves runtime.v1 on a unix socket with the runtime's
answers for a scenario (the real containerd is in tests/runtime), and pod:/container: resolve through it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.attach import resolve_target
from lueur_net.lab.runtimes import cri, cri_pb2 as m

REPO = Path(__file__).resolve().parents[3]
MINE = os.getpid()  # the "process" of every running sandbox and container: its namespace exists


class Runtime:
    """What the stand-in runtime holds; each test fills it."""

    def __init__(self) -> None:
        self.sandboxes: list[m.PodSandbox] = []
        self.containers: list[m.Container] = []
        self.pids: dict[str, int] = {}
        self.failure: grpc.StatusCode | None = None

    def handlers(self) -> grpc.GenericRpcHandler:
        def unary(method: str, function: Callable[[Any], Any]) -> grpc.RpcMethodHandler:
            declared = m.DESCRIPTOR.services_by_name["RuntimeService"].methods_by_name[method]
            request, response = getattr(m, declared.input_type.name), getattr(m, declared.output_type.name)

            def serve(message: Any, context: grpc.ServicerContext) -> Any:
                if self.failure is not None:
                    context.abort(self.failure, "runtime says no")
                return function(message)

            return grpc.unary_unary_rpc_method_handler(serve, request_deserializer=request.FromString,
                                                       response_serializer=response.SerializeToString)

        def info(identifier: str) -> dict[str, str]:
            return {"info": json.dumps({"pid": self.pids.get(identifier, 0)})}

        return grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {
            "ListPodSandbox": unary("ListPodSandbox", lambda _: m.ListPodSandboxResponse(items=self.sandboxes)),
            "PodSandboxStatus": unary("PodSandboxStatus", lambda request: m.StatusResponse(info=info(request.id))),
            "ListContainers": unary("ListContainers", lambda _: m.ListContainersResponse(containers=self.containers)),
            "ContainerStatus": unary("ContainerStatus", lambda request: m.StatusResponse(info=info(request.id))),
        })


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    state = Runtime()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((state.handlers(),))
    socket = tmp_path / "cri.sock"
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    monkeypatch.setenv(cri.ENDPOINT_VARIABLE, str(socket))  # a bare path, as crictl also takes it
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no crictl, docker, podman, nerdctl: the socket only
    try:
        yield state
    finally:
        server.stop(None)


def sandbox(identifier: str, namespace: str, name: str, ready: bool = True) -> m.PodSandbox:
    return m.PodSandbox(id=identifier, metadata=m.PodSandboxMetadata(namespace=namespace, name=name),
                        state=m.SANDBOX_READY if ready else m.SANDBOX_NOTREADY)


def container(identifier: str, name: str, running: bool = True) -> m.Container:
    return m.Container(id=identifier, metadata=m.ContainerMetadata(name=name),
                       state=m.CONTAINER_RUNNING if running else m.CONTAINER_EXITED)


def test_a_pod_is_its_ready_sandbox_even_next_to_old_ones(runtime: Runtime) -> None:
    runtime.sandboxes = [sandbox("old1", "shop", "web", ready=False), sandbox("new2", "shop", "web"),
                         sandbox("other", "shop", "db"), sandbox("elsewhere", "test", "web")]
    runtime.pids = {"new2": MINE}
    assert resolve_target("pod:shop/web") == f"/proc/{MINE}/ns/net"


def test_pods_missing_stopped_or_badly_named_are_bad_input(runtime: Runtime) -> None:
    runtime.sandboxes = [sandbox("old1", "shop", "web", ready=False)]
    with pytest.raises(BadInput, match=r"^pod:shop/web is not running \(cri \(unix://.*old1 \(shop/web\) has no"):
        resolve_target("pod:shop/web")
    with pytest.raises(BadInput, match=r"^pod:shop/cart not found: no pod matches it in cri$"):
        resolve_target("pod:shop/cart")
    with pytest.raises(BadInput, match=r"^pod:web is not pod:NAMESPACE/NAME"):
        resolve_target("pod:web")


def test_a_container_by_id_prefix_and_an_ambiguous_prefix(runtime: Runtime) -> None:
    runtime.containers = [container("abc111", "web"), container("abc222", "db"), container("fed333", "old", False)]
    runtime.pids = {"abc111": MINE, "abc222": MINE}
    assert resolve_target("container:abc1") == f"/proc/{MINE}/ns/net"
    assert resolve_target("container:db") == f"/proc/{MINE}/ns/net"  # an exact name
    with pytest.raises(BadInput, match=r"^container:abc is ambiguous: 2 containers match: cri .*abc111 \(web\), "
                                       r"cri .*abc222 \(db\); give a longer ID$"):
        resolve_target("container:abc")
    with pytest.raises(BadInput, match=r"^container:fed333 is not running"):
        resolve_target("container:fed333")


def test_a_runtime_that_fails_is_an_environment_problem(runtime: Runtime) -> None:
    runtime.failure = grpc.StatusCode.INTERNAL
    with pytest.raises(EnvironmentProblem, match=r"^cannot resolve pod:shop/web: cri \(unix://.*\): ListPodSandbox: "
                                                 r"runtime says no$"):
        resolve_target("pod:shop/web")
    runtime.failure = grpc.StatusCode.UNIMPLEMENTED  # the socket named in CONTAINER_RUNTIME_ENDPOINT is no CRI
    with pytest.raises(EnvironmentProblem, match=r"^cannot resolve pod:shop/web: cri: unix://.* serves no CRI "
                                                 r"runtime.v1"):
        resolve_target("pod:shop/web")


def test_a_default_socket_without_the_cri_counts_as_no_cri(runtime: Runtime, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """docker's own containerd listens at containerd's default path without the CRI plugin: on such a host the CRI
    is absent, not broken (else every container: on a docker host would end in exit 3)."""
    runtime.failure = grpc.StatusCode.UNIMPLEMENTED
    monkeypatch.delenv(cri.ENDPOINT_VARIABLE)
    monkeypatch.setattr(cri, "DEFAULT_SOCKETS", (str(tmp_path / "cri.sock"),))
    with pytest.raises(EnvironmentProblem, match=r"^cannot resolve container:abc: no container runtime to ask "
                                                 r"\(cri: unix://.*cri.sock serves no CRI runtime.v1 .*; docker: "
                                                 r"not installed; podman: not installed; nerdctl: not installed\)\n  hint: "):
        resolve_target("container:abc")


def test_an_absent_socket_is_an_environment_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cri.ENDPOINT_VARIABLE, f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(cri, "TIMEOUT", 1.0)
    with pytest.raises(EnvironmentProblem, match=r"^cannot resolve container:abc: cri \(unix://.*nothing.sock\)"):
        resolve_target("container:abc")


def test_the_cli_says_a_missing_pod_in_one_line_and_exits_2(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from lueur_net.cli.main import main
    from lueur_net.lab import lab

    monkeypatch.setattr(lab, "require_root", lambda: None)  # resolution fails before any kernel object is made

    assert main(["shell", "--attach", "pod:shop/web", "--", "true"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["lueur-net: error: pod:shop/web not found: no pod matches it in cri"]


def test_the_checked_in_messages_match_cri_proto(tmp_path: Path) -> None:
    """cri_pb2.py is generated from cri.proto (scripts/gen-cri-proto); an edit of one without the other fails here."""
    pytest.importorskip("grpc_tools")
    source = REPO / "lueur_net" / "lab" / "runtimes"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{source}", f"--python_out={tmp_path}",
                    str(source / "cri.proto")], check=True)
    assert (tmp_path / "cri_pb2.py").read_text() == (source / "cri_pb2.py").read_text()


# (message in cri.proto, field): its number in the published runtime.v1 API (k8s.io/cri-api api.proto). Shared
# messages stand for several of the API's, which number the field alike (e.g. pod_sandbox_id and container_id = 1).
PUBLISHED_NUMBERS = {
    ("StatusRequest", "id"): 1, ("StatusRequest", "verbose"): 2, ("StatusResponse", "info"): 2,
    ("PodSandboxMetadata", "name"): 1, ("PodSandboxMetadata", "uid"): 2, ("PodSandboxMetadata", "namespace"): 3,
    ("PodSandboxConfig", "metadata"): 1, ("PodSandboxConfig", "hostname"): 2, ("PodSandboxConfig", "log_directory"): 3,
    ("RunPodSandboxRequest", "config"): 1, ("RunPodSandboxResponse", "pod_sandbox_id"): 1,
    ("PodSandboxRequest", "pod_sandbox_id"): 1, ("PodSandbox", "id"): 1, ("PodSandbox", "metadata"): 2,
    ("PodSandbox", "state"): 3, ("ListPodSandboxResponse", "items"): 1, ("ContainerMetadata", "name"): 1,
    ("ImageSpec", "image"): 1, ("ContainerConfig", "metadata"): 1, ("ContainerConfig", "image"): 2,
    ("ContainerConfig", "command"): 3, ("ContainerConfig", "log_path"): 11,
    ("CreateContainerRequest", "pod_sandbox_id"): 1, ("CreateContainerRequest", "config"): 2,
    ("CreateContainerRequest", "sandbox_config"): 3, ("CreateContainerResponse", "container_id"): 1,
    ("StartContainerRequest", "container_id"): 1, ("Container", "id"): 1, ("Container", "metadata"): 3,
    ("Container", "state"): 6, ("ListContainersResponse", "containers"): 1,
}


def test_messages_keep_only_fields_numbered_as_the_published_api() -> None:
    """cri.proto keeps only the fields lueur-net reads or sets, each numbered as the published API numbers it (the
    wire carries numbers, not names): a field added or renumbered without a look at the API fails here."""
    fields = {(message.name, field.name): field.number
              for message in m.DESCRIPTOR.message_types_by_name.values() for field in message.fields}
    assert fields == PUBLISHED_NUMBERS


def test_a_method_s_response_message_is_the_one_cri_proto_declares() -> None:
    """Methods that share one response message (the status of a pod and of a container) find it by the service."""
    assert cri.response_message(m, "PodSandboxStatus") is m.StatusResponse
    assert cri.response_message(m, "ContainerStatus") is m.StatusResponse
    assert cri.response_message(m, "ListContainers") is m.ListContainersResponse
    assert cri.response_message(m, "StopPodSandbox") is m.Empty
