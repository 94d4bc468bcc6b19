"""deploy/kubernetes/ validates offline against Kubernetes' schemas (kubernetes-validate bundles them), and the
DaemonSet has what node debugging needs; deploy/Containerfile builds what a run uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest version kubernetes-validate ships schemas for, and its newest: clusters in between take the manifests.
VERSIONS = ("1.25.0", "latest")


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, document) for path in MANIFESTS for document in yaml.safe_load_all(path.read_text())
            if document]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_strictly(version: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    if version == "latest":
        version = kubernetes_validate.latest_version()
    assert {document["kind"] for _, document in documents()} == {"Namespace", "ServiceAccount", "DaemonSet"}
    for name, document in documents():
        try:
            kubernetes_validate.validate(document, version, strict=True)  # raises on the first problem
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {error.path}: {error.message}")


def test_the_daemonset_can_reach_pods_on_its_node() -> None:
    (daemonset,) = [document for _, document in documents() if document["kind"] == "DaemonSet"]
    namespaces = {document["metadata"]["name"] for _, document in documents() if document["kind"] == "Namespace"}
    assert daemonset["metadata"]["namespace"] in namespaces
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert {"operator": "Exists"} in pod["tolerations"]
    (container,) = pod["containers"]
    assert container["securityContext"]["privileged"] is True
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/sys/fs/bpf", "/run/lueur-net"} <= mounts
    endpoint = next(env["value"] for env in container["env"] if env["name"] == "CONTAINER_RUNTIME_ENDPOINT")
    assert endpoint.removeprefix("unix://") in mounts  # the socket lueur-net is told to ask is mounted


def test_the_containerfile_builds_the_bpf_objects_on_debian() -> None:
    recipe = (REPO / "deploy" / "Containerfile").read_text()
    assert "ARG DEBIAN=debian:" in recipe
    assert "make -s -C bpf" in recipe
    for package in ("iproute2", "iptables", "libbpf1"):
        assert f" {package} " in recipe, package
