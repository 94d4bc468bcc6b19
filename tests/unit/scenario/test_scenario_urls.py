"""URLs (and headers) are validated fully when the file is read: a URL that validates is one httpx and the lab
can use.

Before, `http://a/x\\r\\nX: y` validated and `run` failed with httpx.InvalidURL after the lab was built (leaving
0-byte results files); spaces, ports above 65535, bad IPv4/IPv6 literals and segment values with control
characters passed too.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lueur_net.scenario.loader import load_text
from lueur_net.scenario.urls import url_problem


def _errors(url: str, extra: str = "") -> list[str]:
    text = f"title: t\n{extra}items:\n- call: {{method: GET, url: {json.dumps(url)}}}\n"
    return [str(problem) for problem in load_text(text, "s.yaml")[1] if problem.severity == "error"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://a/x\r\nX: y", "contains a control character ('\\r') at position 10; percent-encode it (%0D)"),
        ("http://a/x\nb", "contains a control character ('\\n') at position 10"),
        ("http://a/\x00", "contains a control character ('\\x00') at position 9"),
        ("http://a/\tb", "contains a control character ('\\t')"),
        ("http://a/x\u200bb", "contains a control character ('\\u200b')"),
        ("http://a b/", "contains whitespace (a space) at position 8; percent-encode it (%20)"),
        ("http://a/ b", "contains whitespace (a space) at position 9"),
        ("http://a:99999/", "has a bad port (Port out of range 0-65535; a port is a number 1-65535)"),
        ("http://a:abc/", "has a bad port"),
        ("http://a:0/", "has port 0"),
        ("http://[::1/", "has a bad IPv6 address literal"),
        ("http://[zzz]/", "has a bad IPv6 address literal"),
        ("http://[v1.x]/", "which is not an IPv6 address"),
        ("http://999.1.1.1/", "has host '999.1.1.1', which is not an IPv4 address"),
        ("http://1.2.3.4.5/", "which is not an IPv4 address"),
        ("http://a..b/", "with an empty label"),
        ("http://ex%41.com/", "with a character a host name cannot have"),
        ("http://@/", "has no host"),
        ("ftp://a/", "only http and https"),
    ],
)
def test_a_bad_url_is_refused_at_its_line_with_the_reason(url: str, says: str) -> None:
    errors = _errors(url)
    assert len(errors) == 1 and errors[0].startswith("s.yaml:3:28: items[0].call.url: URL '"), errors
    assert says in errors[0]
    assert "\n" not in errors[0] and "\r" not in errors[0]


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9090/items/{id}?q=1", "http://[::1]:80/", "https://exa_mple.com/", "http://é.com/",
     "http://user:pw@a/", "http://a/%zz#frag", "http://127.0.0.1:1/", "http://a:65535/", " http://a/ "],
)
def test_good_urls_still_validate(url: str) -> None:
    assert _errors(url) == []


def test_an_upstream_is_checked_the_same_way() -> None:
    text = ("title: t\nitems:\n- call: {method: GET, url: 'http://a/'}\n"
            "  context: {upstreams: [\"http://a:8000/x\\r\\ny\"]}\n")
    errors = [str(problem) for problem in load_text(text, "s.yaml")[1]]
    assert len(errors) == 1 and "items[0].context.upstreams[0]: URL" in errors[0] and "control character" in errors[0]


def test_a_segment_value_with_crlf_is_refused_at_the_value() -> None:
    errors = _errors("http://a/items/{id}", 'config: {http: {paths: {segments: {id: "1\\r\\nX-Injected: y"}}}}\n')
    assert errors == ["s.yaml:2:40: config.http.paths.segments.id: segment value contains a control character "
                      "('\\r') at position 1; percent-encode it (%0D)"]


def test_the_url_with_its_segments_filled_in_must_still_be_a_url() -> None:
    errors = _errors("http://{host}/", "config: {http: {paths: {segments: {host: 'a:b'}}}}\n")
    assert errors == ["s.yaml:4:28: items[0].call.url: URL 'http://a:b/' (with config.http.paths.segments 'host' "
                      "filled in) has a bad port (Port could not be cast to integer value as 'b'; a port is a number "
                      "1-65535)"]


def test_a_placeholder_without_value_in_the_host_is_refused() -> None:
    errors = _errors("http://{host}/")
    assert len(errors) == 1 and "as sent, its placeholders having no value" in errors[0]


@settings(max_examples=int(os.environ.get("LUEUR_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(host=st.text(max_size=12), port=st.one_of(st.none(), st.integers(-5, 70_000), st.text(max_size=4)),
       path=st.text(max_size=12))
def test_every_url_we_accept_httpx_accepts(host: str, port: int | str | None, path: str) -> None:
    url = f"http://{host}{'' if port is None else f':{port}'}/{path}"
    if url_problem(url) is None:
        httpx.URL(url)  # would raise httpx.InvalidURL in the driver, after the lab is built


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ('{"x-a": "b\\r\\nX-Injected: y"}',
         "config.http.headers.x-a: header value contains a control character ('\\r')"),
        ('{"x-a": "\\u00e9t\\u00e9"}', "header value contains a non-ASCII character ('\u00e9') at position 0; httpx"),
        ('{"bad name": "v"}', "header name 'bad name' contains whitespace (a space) at position 3"),
        ('{"x(y)": "v"}', "header name 'x(y)' has a character a header name cannot have"),
    ],
)
def test_a_header_httpx_cannot_send_is_refused(headers: str, says: str) -> None:
    errors = _errors("http://a/", f"config: {{http: {{headers: {headers}}}}}\n")
    assert len(errors) == 1 and says in errors[0], errors


def test_ordinary_headers_still_validate() -> None:
    assert _errors("http://a/", 'config: {http: {headers: {"X-Request-Id": 5, "Accept": "a/b; q=0.5\\tx"}}}\n') == []


@settings(max_examples=int(os.environ.get("LUEUR_FUZZ_EXAMPLES", "300")), deadline=None)
@given(name=st.text(max_size=8), value=st.text(max_size=12))
def test_every_header_we_accept_httpx_builds_into_a_request(name: str, value: str) -> None:
    from lueur_net.scenario.urls import header_name_problem, header_value_problem

    if header_name_problem(name) is None and header_value_problem(value) is None:
        request = httpx.Request("GET", "http://a/", headers={name: value})
        assert b"\r" not in request.headers.raw[-1][1] and b"\n" not in request.headers.raw[-1][1]
