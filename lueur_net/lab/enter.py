"""Run Python code inside a network namespace: the one primitive the driver and the lab's tools use.

Choice: a forked child process that enters the namespace, like `ip netns exec` but without exec.
- setns(CLONE_NEWNET) changes only the calling thread, so a thread-based approach would leave the resolver's
  worker threads (asyncio's getaddrinfo executor) in the host namespace; a child process is wholly inside.
- The child is single-threaded right after fork, so it may also unshare its mount namespace and bind-mount
  /etc/netns/NAME/{resolv.conf,hosts} over /etc, exactly as iproute2 does: names resolve as the lab intends.
  For a process's namespace (`pid:PID`, /proc/PID/ns/net) whose root differs from ours (a container), the
  process's own /etc/{hosts,resolv.conf} are bound instead, so names resolve as they do inside it.
- The parent keeps its own namespace, signal handlers and ledger; the child's result comes back pickled
  through a pipe; an exception in the child is re-raised in the parent.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from lueur_net.errors import BadInput, EnvironmentProblem
from lueur_net.lab.signals import run_forked

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_BIND = 4096
MS_SHARED = 1 << 20
PR_SET_PDEATHSIG = 1
NETNS_RUN_DIR = Path("/run/netns")
NETNS_ETC_DIR = Path("/etc/netns")

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


UNREADABLE_HINT = (
    "opening another process's network namespace needs ptrace access to it (root with CAP_SYS_PTRACE and no "
    "Yama/LSM rule or user namespace in the way); give the namespace another way (an ip netns name, another pid)"
)


def unreadable(target: str, path: Path | str, error: OSError) -> EnvironmentProblem:
    """The error for a namespace that exists but this process may not open (EACCES/EPERM): exit 3, one line."""
    return EnvironmentProblem(
        f"cannot open network namespace {target} ({path}): {error.strerror or error}", hint=UNREADABLE_HINT
    )


def _exists(path: Path, target: str) -> bool:
    """Whether the namespace file exists; a permission error is an EnvironmentProblem, not a missing file."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except PermissionError as error:
        raise unreadable(target, path, error) from None
    return True


def netns_path(target: str) -> Path:
    """An `ip netns` name, `pid:PID`, or a path such as /proc/PID/ns/net, as a path to open."""
    if target.startswith("pid:"):
        pid = target[4:]
        if not pid.isdigit():
            raise BadInput(f"'{target}' is not pid:NUMBER")
        path = Path(f"/proc/{pid}/ns/net")
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise BadInput(f"process {pid} does not exist (dead pid?), so it has no network namespace") from None
        except PermissionError as error:
            raise unreadable(target, path, error) from None
        _exists(path, target)  # the link exists; following it is what ptrace access decides
        return path
    path = Path(target) if "/" in target else NETNS_RUN_DIR / target
    if not _exists(path, target):
        raise BadInput(f"network namespace '{target}' does not exist ({path} not found)")
    return path


def setns(path: Path, nstype: int = CLONE_NEWNET) -> None:
    """Move the calling thread into the namespace at `path`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except PermissionError as error:
        raise unreadable(str(path), path, error) from None
    try:
        if _libc.setns(fd, nstype) != 0:
            errno = ctypes.get_errno()
            raise EnvironmentProblem(f"setns({path}) failed: {os.strerror(errno)}")
    finally:
        os.close(fd)


@contextmanager
def inside(netns: str | None) -> Iterator[None]:
    """Run the body with the *calling thread* in network namespace `netns` (None: stay), then come back.

    For work that only needs a socket or an ifindex from there: a socket stays in the namespace it was created
    in, wherever it is used later. Much cheaper than pyroute2's netns= (a forked helper, ~40 ms) or a fork.
    """
    if netns is None:
        yield
        return
    target = netns_path(netns)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(target)
        try:
            yield
        finally:
            setns(Path(f"/proc/self/fd/{home}"))
    finally:
        os.close(home)


def in_netns_thread(target: str, function: Callable[..., T], *args: Any) -> T:
    """Call function(*args) in a short-lived thread that has entered namespace `target`; return its result.

    Cheaper than run_in_netns (no fork) and enough for work that stays in that one thread: writing
    /proc/sys/net (resolved against the calling thread's namespace), opening sockets (a socket belongs to the
    namespace it was created in, wherever it is used later), or starting a subprocess (a child inherits the
    forking thread's namespace). The thread ends afterwards, so the process itself never changes namespace.
    Not for name resolution through /etc/netns files (that needs run_in_netns's private mount namespace).
    """
    path = netns_path(target)
    outcome: list[Any] = []

    def body() -> None:
        try:
            setns(path)
            outcome.append(("ok", function(*args)))
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome.append(("error", error))

    worker = threading.Thread(target=body, name=f"lueur-netns-{target}", daemon=True)
    worker.start()
    worker.join()
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def create_named_netns(name: str) -> None:
    """Create the `ip netns` namespace NAME (/run/netns/NAME, a bind mount of a new namespace), as iproute2 does,
    from a short-lived thread: unshare(CLONE_NEWNET) moves only the calling thread, so the process never leaves its
    namespace. pyroute2's netns.create forks a helper process for this (~14 ms each, 2 per --serve lab measured).

    Raises FileExistsError if the name is taken, OSError for a failed unshare or mount (nothing left behind).
    """
    NETNS_RUN_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    run_dir = str(NETNS_RUN_DIR)
    # /run/netns must be a shared mount so that the namespaces bound in it show in every mount namespace (those of
    # run_in_netns's children included); bind it onto itself first when it is not a mount point yet (EINVAL).
    try:
        _mount("", run_dir, MS_SHARED | MS_REC)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
        _mount(run_dir, run_dir, MS_BIND | MS_REC)
        _mount("", run_dir, MS_SHARED | MS_REC)
    target = NETNS_RUN_DIR / name
    os.close(os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
    failure: list[OSError] = []

    def body() -> None:
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"unshare(CLONE_NEWNET): {os.strerror(code)}")
            _mount("/proc/thread-self/ns/net", str(target), MS_BIND)
        except OSError as error:
            failure.append(error)

    worker = threading.Thread(target=body, name=f"lueur-netns-create-{name}", daemon=True)
    worker.start()
    worker.join()
    if failure:
        target.unlink(missing_ok=True)
        raise failure[0]


def _mount(source: str, target: str, flags: int) -> None:
    if _libc.mount(source.encode(), target.encode(), None, flags, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


RESOLVER_FILES = ("hosts", "resolv.conf")


def _bind_over_etc(sources: list[Path], copy: bool = False) -> None:
    """Bind each source file over /etc/<its name> in a private mount namespace.

    `copy`: the sources live in another mount namespace (a container's root, seen through /proc/PID/root), which
    mount(2) refuses as a bind source: bind private copies of their contents instead.
    """
    if not sources:
        return
    contents = {item.name: item.read_bytes() for item in sources} if copy else {}
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    _mount("none", "/", MS_REC | MS_PRIVATE)
    for item in sources:
        target = Path("/etc") / item.name
        if not target.exists():
            continue
        if not copy:
            _mount(str(item), str(target), MS_BIND)
            continue
        fd, temporary = tempfile.mkstemp(prefix=f"lueur-{item.name}-")
        try:
            os.write(fd, contents[item.name])
            os.close(fd)
            _mount(temporary, str(target), MS_BIND)
        finally:
            os.unlink(temporary)  # the bind mount keeps the file alive for this mount namespace only


def _bind_netns_etc(name: str) -> None:
    """Bind /etc/netns/NAME/* over /etc/* in a private mount namespace (the `ip netns exec` convention)."""
    etc = NETNS_ETC_DIR / name
    if etc.is_dir():
        _bind_over_etc(sorted(etc.iterdir()))


def _process_of(target: str) -> int | None:
    """The pid behind `pid:PID` or `/proc/PID/ns/net`, else None."""
    if target.startswith("pid:") and target[4:].isdigit():
        return int(target[4:])
    parts = Path(target).parts
    if len(parts) == 5 and parts[:2] == ("/", "proc") and parts[2].isdigit() and parts[3:] == ("ns", "net"):
        return int(parts[2])
    return None


def _bind_process_etc(pid: int) -> None:
    """For a process in another filesystem (a container), resolve names with ITS hosts and resolv.conf."""
    try:
        theirs, ours = os.stat(f"/proc/{pid}/root/"), os.stat("/")
    except OSError:
        return
    if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
        return  # same root: our /etc is theirs
    sources = [Path(f"/proc/{pid}/root/etc/{name}") for name in RESOLVER_FILES]
    _bind_over_etc([source for source in sources if source.is_file()], copy=True)


def _bind_resolver_files(target: str) -> None:
    """Give the child the resolver files of the namespace it enters (lab namespace or a container's process)."""
    pid = _process_of(target)
    if pid is not None:
        _bind_process_etc(pid)
    elif "/" not in target and ":" not in target:
        _bind_netns_etc(target)


def enter_netns(target: str) -> None:
    """Move the *whole current process* into a namespace (for a process that is about to run user code).

    Call only in a single-threaded process (a fresh child): mount unsharing fails with threads.
    """
    path = netns_path(target)
    _bind_resolver_files(target)
    setns(path)


def die_with_parent(parent: int) -> None:
    """In a forked child: be SIGKILLed when `parent` (the pid that forked us) dies.

    An orphaned child would keep its namespace alive and go on sending traffic after a SIGKILLed run (and `clean`
    could not reclaim the namespace). Checked after the prctl in case the parent died before it.
    """
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def run_in_netns(target: str, function: Callable[..., T], *args: Any,
                 after_fork: Callable[[], object] | None = None, **kwargs: Any) -> T:
    """Call function(*args, **kwargs) in a child process inside namespace `target` and return its result.

    The result (or the exception) must be picklable: it comes back through a pipe. Ctrl-C, SIGTERM or SIGHUP
    at any instant kills and reaps the child before acting here (lueur_net.lab.signals.run_forked, which also
    calls `after_fork` here once the child is forked).
    """
    path = netns_path(target)  # fail early, in the parent, with a clear message
    parent = os.getpid()

    def inside() -> T:
        die_with_parent(parent)
        _bind_resolver_files(target)
        setns(path)
        return function(*args, **kwargs)

    (ended,) = run_forked([inside], after_fork=after_fork)
    if ended.result is None:
        raise EnvironmentProblem(f"the worker in namespace '{target}' died without a result")
    kind, value = ended.result
    if kind == "ok":
        return value  # type: ignore[no-any-return]
    error, child_traceback = value
    if isinstance(error, BaseException):
        error.__notes__ = [*getattr(error, "__notes__", []), f"in namespace {target}:\n{child_traceback}"]
        raise error
    raise RuntimeError(child_traceback)
