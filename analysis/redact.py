"""Redaction of secrets: the one place every renderer and the LLM path go through before text leaves us.

What counts as secret:
- headers: Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any header whose name looks secret
  (X-API-Key, X-Auth-Token, ...);
- fields and query parameters whose *name* looks secret: password, passwd, token, secret, api key,
  credential, private key, session id, cookie, authorization (so the example app's `secret_password` is caught);
- the password part of a URL's user-info (`http://user:pw@host/` -> `http://user:***@host/`: a mask that is still a
  valid URL, so reports and `analyze` can parse it again);
- every query parameter's value and the fragment of a URL (`?sig=abc#t` -> `?sig=[redacted]#[redacted]`; the names
  are kept): a signed URL's `sig`, a `?key=` of any spelling or an id in a fragment is a secret by position, not by
  name. `Redactor(keep_query=True)` (`run --keep-query`) keeps them, except those of secret-looking names.

A `Redactor` also remembers every secret value it removed, and scrubs those values wherever they appear later in
free text (an error message echoing a request body, a prompt quoting a URL), so a secret seen once is hidden
everywhere. Pure code: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "[redacted]"
USERINFO_MASK = "***"  # inside a URL's authority brackets mean an IPv6 literal: "[redacted]" would break parsing
_REMEMBER_QUERY_VALUE = 8  # query values redacted by position are remembered for scrubbing only when this long

# A name is secret when it contains one of these fragments (compared without case, '-' and '_' ignored).
_SECRET_NAME = re.compile(
    r"password|passwd|passphrase|pwd|token|secret|apikey|credential|privatekey|sessionid|cookie|authorization|auth$",
)
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

# Free-text shapes that carry a name and a value.
_NAME = r"[A-Za-z0-9_.\-]*"
_KEY_VALUE = re.compile(  # secret_password=hunter2 (query strings, form bodies, log lines)
    rf"(?P<name>{_NAME})(?P<sep>=)(?P<value>[^&\s\"'<>,;)]+)"
)
_JSON_PAIR = re.compile(  # "secret_password": "hunter2" or 'token': 'x'
    rf"(?P<q>[\"'])(?P<name>{_NAME})(?P=q)(?P<sep>\s*:\s*)(?P<vq>[\"'])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)"
)
_HEADER_LINE = re.compile(  # Authorization: Bearer abc / Cookie: a=b; c=d
    r"(?im)^(?P<name>[A-Za-z0-9\-]+)(?P<sep>[ \t]*:[ \t]*)(?P<value>[^\r\n]+)$"
)
_LITERAL_ASSIGNMENT = re.compile(  # password = "hunter2" / API_KEY: 'x' / token=\"x\" in code and config
    rf"(?P<name>{_NAME})(?P<sep>\s*[:=]\s*)(?P<q>[\"'])(?P<value>[^\"'\r\n]+)(?P=q)"
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<value>[^@/\s]+)@")
_MIN_SCRUB_LENGTH = 4  # shorter remembered values ("1", "ab") would wreck unrelated text


def is_secret_name(name: str) -> bool:
    """True when a header, field or query parameter named `name` holds a secret."""
    lowered = name.lower()
    if lowered in _SECRET_HEADERS:
        return True
    squashed = lowered.replace("-", "").replace("_", "")
    return _SECRET_NAME.search(squashed) is not None


class Redactor:
    """Redacts URLs, headers, structures and free text; remembers values it removed to scrub them later."""

    def __init__(self, known_secrets: Iterable[str] = (), *, keep_query: bool = False) -> None:
        self.secrets: set[str] = {value for value in known_secrets if value}
        self.keep_query = keep_query

    def _remember(self, value: str) -> None:
        value = value.strip()
        if value and value != REDACTED:
            self.secrets.add(value)

    def url(self, url: str) -> str:
        """The URL with its user-info password masked, and every query value and the fragment replaced (only the
        secret-looking query values with `keep_query`); names, host and path stay."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.text(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            if ":" in userinfo:
                user, _, password = userinfo.partition(":")
                self._remember(password)
                netloc = f"{user}:{USERINFO_MASK}@{hostport}"
        query = parts.query
        if query:
            rebuilt = []
            for name, value in parse_qsl(query, keep_blank_values=True):
                secret = is_secret_name(name)
                if value and value != REDACTED and (secret or not self.keep_query):
                    if secret or len(value) >= _REMEMBER_QUERY_VALUE:
                        self._remember(value)
                    rebuilt.append(f"{quote(name, safe='')}={REDACTED}")
                else:
                    rebuilt.append(f"{quote(name, safe='')}={quote(value, safe='[]')}")
            query = "&".join(rebuilt)
        fragment = parts.fragment
        if fragment and not self.keep_query:
            fragment = REDACTED
        return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        result: dict[str, str] = {}
        for name, value in items:
            if is_secret_name(name):
                self._remember(_bearer_token(str(value)))
                result[name] = REDACTED
            else:
                result[name] = self.text(str(value))
        return result

    def value(self, data: Any) -> Any:
        """A deep copy of `data` (dicts, lists, strings, numbers) with secret fields and text redacted."""
        if isinstance(data, Mapping):
            result: dict[Any, Any] = {}
            for key, item in data.items():
                if isinstance(key, str) and is_secret_name(key) and not isinstance(item, (Mapping, list, tuple)):
                    if item is not None:
                        self._remember(str(item))
                        result[key] = REDACTED
                    else:
                        result[key] = None
                elif isinstance(key, str) and key.lower() == "headers" and isinstance(item, Mapping):
                    result[key] = self.headers(item)
                else:
                    result[key] = self.value(item)
            return result
        if isinstance(data, (list, tuple)):
            return [self.value(item) for item in data]
        if isinstance(data, str):
            return self.text(data)
        return data

    def text(self, text: str) -> str:
        """Free text with secret-looking pairs, URLs' passwords and every remembered secret value removed."""
        return self._redacted(text, (_HEADER_LINE, self._header_line), (_KEY_VALUE, self._key_value))

    def source(self, text: str) -> str:
        """Source code and prose that must stay usable: literals assigned to secret names, URL passwords,
        secret header lines and remembered values are removed; `secret_password=secret_password` (a name
        passed on) and `secret_password: str` (a type) are kept, so diffs against the code still apply."""
        return self._redacted(
            text, (_LITERAL_ASSIGNMENT, self._literal_assignment), (_HEADER_LINE, self._header_line_with_value)
        )

    def _redacted(self, text: str, *then: tuple[re.Pattern[str], Callable[[re.Match[str]], str]]) -> str:
        """URLs' passwords and JSON pairs out first, then each (pattern, replacement) of `then` in order, then
        every remembered value."""
        if not text:
            return text
        text = _URL_USERINFO.sub(self._userinfo, text)
        text = _JSON_PAIR.sub(self._json_pair, text)
        for pattern, replace in then:
            text = pattern.sub(replace, text)
        return self._scrub(text)

    def _literal_assignment(self, match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]) or match["value"] == REDACTED:
            return match.group(0)
        self._remember(match["value"])
        return f"{match['name']}{match['sep']}{match['q']}{REDACTED}{match['q']}"

    def _header_line_with_value(self, match: re.Match[str]) -> str:
        # In code, `password: str` is a declaration, not a header: only real header names count here.
        if match["name"].lower() not in _SECRET_HEADERS and "-" not in match["name"]:
            return match.group(0)
        return self._header_line(match)

    def _scrub(self, text: str) -> str:
        """Remove remembered values where they stand alone (not inside a longer word: 'pass' stays in 'bypass')."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) < _MIN_SCRUB_LENGTH:
                continue
            for form in dict.fromkeys((secret, quote(secret, safe=""))):
                text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(form)}(?![A-Za-z0-9_])", REDACTED, text)
        return text

    def _userinfo(self, match: re.Match[str]) -> str:
        self._remember(match["value"])
        return f"{match['scheme']}{match['user']}:{USERINFO_MASK}@"

    def _json_pair(self, match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]):
            return match.group(0)
        self._remember(match["value"])
        self._remember(_bearer_token(match["value"]))
        q, vq = match["q"], match["vq"]
        return f"{q}{match['name']}{q}{match['sep']}{vq}{REDACTED}{vq}"

    def _header_line(self, match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]):
            return match.group(0)
        self._remember(_bearer_token(match["value"]))
        return f"{match['name']}{match['sep']}{REDACTED}"

    def _key_value(self, match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]) or match["value"] == REDACTED:
            return match.group(0)
        self._remember(match["value"])
        return f"{match['name']}={REDACTED}"


def _bearer_token(value: str) -> str:
    """'Bearer abc' -> 'abc' (the part worth scrubbing elsewhere); other values unchanged."""
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if rest and scheme.lower() in {"bearer", "basic", "token", "digest"} else value


def redact_url(url: str) -> str:
    return Redactor().url(url)


def redact_text(text: str) -> str:
    return Redactor().text(text)
