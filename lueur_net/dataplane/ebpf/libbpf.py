"""A small ctypes binding to the system libbpf (libbpf.so.1): open and load an object, find its maps and
programs, read and write map elements, create a BPF link.

Only the calls lueur-net needs, all part of libbpf 1.x's stable API (1.1 is the oldest we target: it has no
tcx helpers, so tcx links are made with bpf_link_create and the kernel's attach type numbers).
libbpf 1.x returns NULL or a negative errno on failure and sets errno; every failure here becomes an
EnvironmentProblem naming the object and the errno text.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

from lueur_net.errors import EnvironmentProblem

# enum bpf_attach_type values added in Linux 6.6 (absent from older UAPI headers and from libbpf 1.1).
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47
BPF_ANY = 0

_library: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """libbpf.so.1, loaded once, with the signatures we use declared."""
    global _library
    if _library is not None:
        return _library
    name = ctypes.util.find_library("bpf") or "libbpf.so.1"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot load libbpf ({name}): {error}",
            hint="install the libbpf1 package (Debian/Ubuntu) or libbpf (RHEL)",
        ) from error
    vp, cp, i, u32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32
    signatures: dict[str, tuple[object, list[object]]] = {
        "bpf_object__open_file": (vp, [cp, vp]),
        "bpf_object__load": (i, [vp]),
        "bpf_object__close": (None, [vp]),
        "bpf_object__find_program_by_name": (vp, [vp, cp]),
        "bpf_object__find_map_by_name": (vp, [vp, cp]),
        "bpf_program__fd": (i, [vp]),
        "bpf_map__fd": (i, [vp]),
        "bpf_map__value_size": (u32, [vp]),
        "bpf_map_update_elem": (i, [i, vp, vp, ctypes.c_uint64]),
        "bpf_map_lookup_elem": (i, [i, vp, vp]),
        "bpf_link_create": (i, [i, i, ctypes.c_int, vp]),
        "libbpf_num_possible_cpus": (i, []),
        "libbpf_major_version": (u32, []),
        "libbpf_minor_version": (u32, []),
    }
    for function, (restype, argtypes) in signatures.items():
        symbol = getattr(lib, function)
        symbol.restype = restype
        symbol.argtypes = argtypes
    _library = lib
    return lib


def version() -> str:
    lib = library()
    return f"{lib.libbpf_major_version()}.{lib.libbpf_minor_version()}"


def _errno_text(result: int | None = None) -> str:
    code = -result if result is not None and result < 0 else ctypes.get_errno()
    return f"{os.strerror(code)} (errno {code})"


class BpfObject:
    """One loaded object file (its programs are in the kernel; maps and programs live while it is open)."""

    def __init__(self, path: Path, *, load: bool = True) -> None:
        """Open `path` and (unless load=False: then only its ELF and BTF are read, no root needed) load it."""
        lib = library()
        self.path = path
        self._lib = lib
        pointer = lib.bpf_object__open_file(str(path).encode(), None)
        if not pointer:
            raise EnvironmentProblem(f"cannot open BPF object {path}: {_errno_text()}")
        self._object: int | None = pointer
        if not load:
            return
        result = lib.bpf_object__load(pointer)
        if result != 0:
            self.close()
            raise EnvironmentProblem(
                f"the kernel refused BPF object {path.name}: {_errno_text(result)}",
                hint="the verifier log is printed above by libbpf; `lueur-net doctor` checks BPF support",
            )

    def _handle(self) -> int:
        if self._object is None:
            raise EnvironmentProblem(f"BPF object {self.path.name} is already closed")
        return self._object

    def program_fd(self, name: str) -> int:
        program = self._lib.bpf_object__find_program_by_name(self._handle(), name.encode())
        if not program:
            raise EnvironmentProblem(f"BPF object {self.path.name} has no program {name}")
        return int(self._lib.bpf_program__fd(program))

    def map(self, name: str) -> BpfMap:
        pointer = self._lib.bpf_object__find_map_by_name(self._handle(), name.encode())
        if not pointer:
            raise EnvironmentProblem(f"BPF object {self.path.name} has no map {name}")
        return BpfMap(name, int(self._lib.bpf_map__fd(pointer)), int(self._lib.bpf_map__value_size(pointer)))

    def close(self) -> None:
        """Close the object: its fds go, so programs and maps not held by a link or filter are freed."""
        if self._object is not None:
            self._lib.bpf_object__close(self._object)
            self._object = None


class BpfMap:
    """A map of the object by fd. Keys are u32 indexes (every lueur-net map is an array)."""

    def __init__(self, name: str, fd: int, value_size: int) -> None:
        self.name = name
        self.fd = fd
        self.value_size = value_size

    def update(self, index: int, value: ctypes.Structure | ctypes.Array[ctypes.c_uint64]) -> None:
        if ctypes.sizeof(value) != self.value_size:
            raise EnvironmentProblem(
                f"map {self.name}: value is {ctypes.sizeof(value)} bytes in Python but {self.value_size}"
                " in the"
                " object (bpf/ and lueur_net/dataplane/ebpf/maps.py disagree: rebuild with `make -C bpf`)"
            )
        key = ctypes.c_uint32(index)
        result = library().bpf_map_update_elem(self.fd, ctypes.byref(key), ctypes.byref(value), BPF_ANY)
        if result != 0:
            raise EnvironmentProblem(f"cannot update BPF map {self.name}[{index}]: {_errno_text(result)}")

    def lookup_percpu_u64(self, index: int) -> list[int]:
        """The per-CPU u64 values at `index` of a per-CPU array (one per possible CPU)."""
        cpus = possible_cpus()
        values = (ctypes.c_uint64 * cpus)()
        key = ctypes.c_uint32(index)
        result = library().bpf_map_lookup_elem(self.fd, ctypes.byref(key), values)
        if result != 0:
            raise EnvironmentProblem(f"cannot read BPF map {self.name}[{index}]: {_errno_text(result)}")
        return list(values)


def possible_cpus() -> int:
    count = int(library().libbpf_num_possible_cpus())
    if count <= 0:
        raise EnvironmentProblem(f"libbpf cannot count the possible CPUs: {_errno_text(count)}")
    return count


def link_create(program_fd: int, ifindex: int, attach_type: int) -> int:
    """BPF_LINK_CREATE on an interface of the *calling thread's* network namespace; returns the link fd.

    Raises OSError with the errno so callers can tell "no tcx in this kernel" (EINVAL) from other failures.
    """
    result = library().bpf_link_create(program_fd, ifindex, attach_type, None)
    if result < 0:
        raise OSError(-result, os.strerror(-result))
    return int(result)
