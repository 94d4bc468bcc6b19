"""Redaction: secret headers, fields, query parameters and URL passwords never survive, and are scrubbed later."""

from __future__ import annotations

from lueur_net.analysis.redact import REDACTED, Redactor, is_secret_name, redact_text, redact_url


def test_secret_names() -> None:
    for name in ("Authorization", "Cookie", "Set-Cookie", "X-API-Key", "api_key", "secret_password", "passwd",
                 "access_token", "X-Auth-Token", "client_secret"):
        assert is_secret_name(name), name
    for name in ("name", "passed", "user_id", "Accept", "author", "content-type"):
        assert not is_secret_name(name), name


def test_query_parameter_and_userinfo_are_redacted() -> None:
    url = redact_url("http://bob:pa55word@localhost:9090/users/?name=bob&secret_password=hunter2")
    assert "hunter2" not in url and "pa55word" not in url
    assert f"name={REDACTED}" in url and f"secret_password={REDACTED}" in url  # names kept, every value gone
    kept = Redactor(keep_query=True).url("http://bob:pa55word@localhost:9090/users/?name=bob&secret_password=x")
    assert "name=bob" in kept and f"secret_password={REDACTED}" in kept and "pa55word" not in kept


def test_every_query_value_and_the_fragment_are_redacted_by_default() -> None:
    redactor = Redactor()
    url = redactor.url("https://cdn.example/file?sig=3f9a8b7c6d5e&foo=bar&expires=1700000000#access_token=zz")
    assert url == f"https://cdn.example/file?sig={REDACTED}&foo={REDACTED}&expires={REDACTED}#{REDACTED}"
    assert redactor.text("GET failed for sig 3f9a8b7c6d5e") == f"GET failed for sig {REDACTED}"  # long: remembered
    assert Redactor(keep_query=True).url("http://h/p?foo=bar#frag") == "http://h/p?foo=bar#frag"


def test_a_redacted_url_is_still_a_url_reports_can_parse() -> None:
    from urllib.parse import urlsplit

    url = redact_url("http://user:password@host:8080/a/b?x=1#f")
    parts = urlsplit(url)  # '[redacted]' in the authority reads as an IPv6 literal and raises
    assert (parts.hostname, parts.port, parts.path, parts.password) == ("host", 8080, "/a/b", "***")
    assert redact_url(url) == url  # idempotent: the reports redact what results.json already redacted


def test_free_text_shapes() -> None:
    text = redact_text('{"secret_password": "hunter2", "name": "bob"}\nAuthorization: Bearer abc.def\ntoken=zz9z')
    assert "hunter2" not in text and "abc.def" not in text and "zz9z" not in text
    assert '"name": "bob"' in text


def test_values_seen_once_are_scrubbed_everywhere() -> None:
    redactor = Redactor()
    redactor.headers({"Authorization": "Bearer tok-123456", "Accept": "application/json"})
    redactor.url("http://h/?api_key=k-98765")
    assert redactor.text("server echoed tok-123456 and k-98765") == f"server echoed {REDACTED} and {REDACTED}"


def test_structures_keep_non_secret_fields() -> None:
    data = Redactor().value({"passed": True, "headers": {"Cookie": "a=b", "Accept": "x"}, "password": "p4ss",
                             "nested": [{"client_secret": "s3cr3t"}]})
    assert data == {"passed": True, "headers": {"Cookie": REDACTED, "Accept": "x"}, "password": REDACTED,
                    "nested": [{"client_secret": REDACTED}]}
