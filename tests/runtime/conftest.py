"""The runtime tier's fixtures (cri_pod, podman_container), defined in runtime_lab.py so that tests import its
helpers by a name no other conftest has."""

from runtime_lab import cri_pod, podman_container, podman_machine_paths, rootfs  # noqa: F401 - this folder's fixtures
