"""The effects of `scenario generate`: fetch the spec over HTTP(S), optionally from a server started just for that
in the lab's server namespace (--serve). The only module of lueur_net.generate that touches the network or the
kernel; everything else here is pure (tests/unit/generate/test_generate_layers.py holds that)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from lueur_net.generate.spec import GenerateError

DEFAULT_TIMEOUT_S = 10.0
MAX_SPEC_BYTES = 64 * 1_048_576  # a spec larger than this is not a spec a person maintains; refuse, do not OOM


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GenerateError(f"--spec-url {url}: must be an http:// or https:// URL with a host")


def fetch_url(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """The body of a GET on `url` (redirects followed) as text; one-line GenerateError on any failure."""
    import httpx

    check_url(url)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=False) as client:
            with client.stream("GET", url, headers={"accept": "application/json, application/yaml;q=0.9, */*;q=0.5"}) \
                    as response:
                if response.status_code >= 400:
                    raise GenerateError(f"--spec-url {url}: the server answered HTTP {response.status_code} "
                                        f"{response.reason_phrase}".rstrip())
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_SPEC_BYTES:
                        raise GenerateError(f"--spec-url {url}: larger than {MAX_SPEC_BYTES} bytes; not fetched")
                    chunks.append(chunk)
                return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
    except httpx.TimeoutException:
        raise GenerateError(f"--spec-url {url}: no answer within {timeout:g} s (--timeout)") from None
    except httpx.HTTPError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise GenerateError(f"--spec-url {url}: cannot fetch: {reason}") from None


def fetch_served(url: str, command: str, timeout: float = DEFAULT_TIMEOUT_S, ready_timeout: float = 30.0) -> str:
    """Start `command` in a lab's server namespace (as `run --serve` does), fetch `url` from the client namespace
    once the server accepts connections, then stop the server and remove the lab. Needs root."""
    from lueur_net.lab import Lab, ServeSpec, in_netns_thread, terminate_on_signals
    from lueur_net.lab.lab import require_root
    from lueur_net.ledger import Ledger

    check_url(url)
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not host.startswith("127."):
        raise GenerateError(f"--serve needs a --spec-url on localhost (e.g. http://localhost:9090/openapi.json), "
                            f"where the served application listens; got {url}")
    require_root()
    parts = urlsplit(url)
    upstream = f"{parts.scheme}://{parts.netloc}/"
    serve = ServeSpec(command, cwd=os.getcwd(), env=dict(os.environ), ready_timeout=ready_timeout)
    with terminate_on_signals(), Ledger.open("generate") as ledger, \
            Lab.create([upstream], ledger, serve=serve) as lab:
        # A socket belongs to the namespace of the thread that creates it: the fetch runs in a thread inside the
        # client namespace, which reaches localhost:PORT of the server namespace exactly as a run's calls do.
        return in_netns_thread(lab.client_netns, fetch_url, url, timeout)
