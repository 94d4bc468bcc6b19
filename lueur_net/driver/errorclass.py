"""Map what httpx raised to one error class (lueur_net.records.call.ERROR_*).

httpx wraps the socket error (httpcore -> anyio -> OSError), so the errno is found by walking the
exception's cause/context chain and exception groups; the text is the last resort.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import httpx

from lueur_net.records.call import (
    ERROR_DNS,
    ERROR_OTHER,
    ERROR_PROTOCOL,
    ERROR_REFUSED,
    ERROR_RESET,
    ERROR_TIMEOUT,
    CallRecord,
)

_ERRNO_CLASSES = {
    errno.ECONNREFUSED: ERROR_REFUSED,
    errno.ECONNRESET: ERROR_RESET,
    errno.EPIPE: ERROR_RESET,
    errno.ECONNABORTED: ERROR_RESET,
    errno.ETIMEDOUT: ERROR_TIMEOUT,
}
_TEXT_CLASSES = (  # lower-case fragments of messages that carry no errno
    ("name or service not known", ERROR_DNS),
    ("temporary failure in name resolution", ERROR_DNS),
    ("no address associated with hostname", ERROR_DNS),
    ("connection refused", ERROR_REFUSED),
    ("connection reset", ERROR_RESET),
    ("broken pipe", ERROR_RESET),
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and members of exception groups, each once."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
        for argument in current.args:  # httpcore passes the original exception as the argument
            if isinstance(argument, BaseException):
                stack.append(argument)


def classify(error: BaseException) -> str:
    """The error class of a failed call."""
    if isinstance(error, (httpx.TimeoutException, TimeoutError)):
        return ERROR_TIMEOUT
    chain = list(_chain(error))
    for link in chain:
        if isinstance(link, socket.gaierror):
            return ERROR_DNS
    for link in chain:
        if isinstance(link, OSError) and link.errno in _ERRNO_CLASSES:
            return _ERRNO_CLASSES[link.errno]
    for link in chain:
        if isinstance(link, (TimeoutError, httpx.TimeoutException)):
            return ERROR_TIMEOUT
    text = " ".join(str(link) for link in chain).lower()
    for fragment, error_class in _TEXT_CLASSES:
        if fragment in text:
            return error_class
    if isinstance(error, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError)):
        return ERROR_PROTOCOL
    return ERROR_OTHER


def describe(error: BaseException) -> str:
    """The exception's type and text; when the text is empty, the first OS error text found in its chain."""
    text = str(error)
    if not text:
        chain = list(_chain(error))
        os_texts = [link.strerror for link in chain if isinstance(link, OSError) and link.strerror]
        other_texts = [str(link) for link in chain if str(link)]
        text = (os_texts or other_texts or [""])[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def record_failure(record: CallRecord, error: BaseException, timeout_s: float) -> None:
    """Fill a call's error class and text from what its client raised (both load clients and single calls);
    asyncio's TimeoutError is the call's own deadline."""
    if isinstance(error, TimeoutError):
        record.error_class = ERROR_TIMEOUT
        record.error = f"no complete response within {timeout_s:g} s"
    else:
        record.error_class = classify(error)
        record.error = describe(error)[:300]
