"""URL and header checks at load time: a URL or header that validates here is one the driver (httpx) and the lab
can use.

Before, `http://a/x\\r\\n` validated and `run` failed with httpx.InvalidURL after the lab was built. Every check
is syntax only (no name is resolved here); each returns the reason a URL is refused, or None. Pure.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import SplitResult, urlsplit

URL_SCHEMES = ("http", "https")
_IPV4_LIKE = re.compile(r"^[0-9.]+$")
_LABEL = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_HOSTNAME = 253  # RFC 1035: 255 octets on the wire, 253 characters written
MAX_LABEL = 63


def _shown_char(char: str) -> str:
    """'\\r', '\\x00', 'U+2028' or ' ' (space): a character as the user can read it in a one-line message."""
    if char == " ":
        return "a space"
    if char.isprintable():
        return f"'{char}'"
    escaped = char.encode("unicode_escape").decode()
    return f"'{escaped}'" if escaped != char else f"'{char}'"


def bad_character(text: str) -> str | None:
    """Why `text` cannot be part of a URL as written: a control character, a line or paragraph separator, or
    whitespace (httpx refuses the first, and a space splits the request line); None when every character may."""
    for position, char in enumerate(text):
        control = unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")
        if control or char.isspace():
            kind = "a control character" if control else "whitespace"
            hint = f" (%{ord(char):02X})" if ord(char) < 0x80 else ""
            return f"{kind} ({_shown_char(char)}) at position {position}; percent-encode it{hint}"
    return None


def _host_problem(parts: SplitResult) -> str | None:
    netloc = parts.netloc.rpartition("@")[2]
    if netloc.startswith("["):
        literal = netloc[1:].partition("]")[0]
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return f"has '[{literal}]', which is not an IPv6 address"
        return None
    host = parts.hostname or ""
    if _IPV4_LIKE.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"has host '{host}', which is not an IPv4 address (four numbers 0-255)"
        return None
    if len(host) > MAX_HOSTNAME:
        return f"has a host name of {len(host)} characters, above {MAX_HOSTNAME}"
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    for label in labels:
        if not label:
            return f"has host '{host}', with an empty label (two dots in a row, or a leading dot)"
        if len(label) > MAX_LABEL:
            return f"has a host label of {len(label)} characters ('{label[:20]}...'), above {MAX_LABEL}"
        if label.isascii() and not _LABEL.match(label):
            return (f"has host '{host}', with a character a host name cannot have (letters, digits, '-', '_' "
                    "and '.' only)")
    if not host.isascii():
        import idna  # httpx's own IDNA 2008 encoder (Python's "idna" codec is the laxer IDNA 2003)

        try:
            idna.encode(host.lower())
        except (idna.IDNAError, UnicodeError):
            return f"has host '{host}', which is not a valid international domain name (IDNA 2008)"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` (placeholders already filled in) cannot be called, or None: characters, scheme, host, port."""
    character = bad_character(url)
    if character is not None:
        return f"contains {character}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        reason = str(error)
        if reason.startswith("Port"):
            return f"has a bad port ({reason}; a port is a number 1-65535)"
        if "IPv6" in reason or "IPv4" in reason:
            return f"has a bad IPv6 address literal ({reason})"
        return f"cannot be read ({reason})"
    if not parts.scheme or "://" not in url:
        return "has no scheme"
    if parts.scheme.lower() not in URL_SCHEMES:
        return f"has scheme '{parts.scheme}'; only http and https are supported"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0 (a port is a number 1-65535)"
    return _host_problem(parts)


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name (token)


def header_name_problem(name: str) -> str | None:
    """Why `name` cannot be an HTTP header name (a token: letters, digits and !#$%&'*+-.^_`|~), or None."""
    if _TOKEN.match(name):
        return None
    if not name:
        return "is empty"
    character = bad_character(name)
    if character is not None:
        return f"contains {character.partition(';')[0]}; a header name is letters, digits and !#$%&'*+-.^_`|~"
    return "has a character a header name cannot have (letters, digits and !#$%&'*+-.^_`|~ only)"


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header value: CR, LF, NUL or another control character (a tab is fine), or
    a non-ASCII character (httpx encodes header values as ASCII); None when it can."""
    for position, char in enumerate(value):
        if char == "\t":
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"contains a control character ({_shown_char(char)}) at position {position}"
        if not char.isascii():
            return (f"contains a non-ASCII character ({_shown_char(char)}) at position {position}; httpx sends "
                    "header values as ASCII (percent-encode it)")
    return None
