"""Container images built offline from Debian's static busybox (no registry is reachable from the test machines).

`rootfs_tar` makes a root filesystem tar (busybox, a web root); `oci_archive` wraps it as a one-layer OCI image
archive that `ctr images import` takes; podman takes the plain tar with `podman import`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

BUSYBOX = "/bin/busybox"  # Debian's busybox-static installs a static binary here
INDEX = b"lueur-net runtime tier\n"


def static_busybox() -> str | None:
    """The busybox path when it is the static one (a dynamic one would need its libraries in the image)."""
    path = shutil.which("busybox") or BUSYBOX
    try:
        with open(path, "rb") as binary:
            head = binary.read(1 << 16)
    except OSError:
        return None
    return path if b"ld-linux" not in head else None


def rootfs_tar(busybox: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "www", "tmp", "etc", "proc", "sys", "dev"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for name in ("sh", "httpd", "sleep"):
            link = tarfile.TarInfo(f"bin/{name}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for name, content in (("www/index.html", INDEX), ("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n"),
                              ("etc/group", b"root:x:0:\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _blob(tar: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}"


def oci_archive(rootfs: bytes, name: str, command: list[str], path: Path) -> None:
    """Write an OCI image layout tar holding `rootfs` as one layer, named `name` for containerd's import."""
    layer = gzip.compress(rootfs, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": command, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(rootfs).hexdigest()}"]},
    }).encode()
    with tarfile.open(path, "w") as tar:
        config_digest, layer_digest = _blob(tar, config), _blob(tar, layer)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                        "size": len(layer)}],
        }).encode()
        manifest_digest = _blob(tar, manifest)
        for file_name, content in (
            ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
            ("index.json", json.dumps({"schemaVersion": 2, "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name},
            }]}).encode()),
        ):
            info = tarfile.TarInfo(file_name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
