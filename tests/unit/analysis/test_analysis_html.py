"""The HTML report: parses, is self-contained (no script, nothing fetched), has three SVG plots per item with
fault windows shaded and one mark per call, and carries no secret."""

from __future__ import annotations

from html.parser import HTMLParser

from analysis_fixture import API_KEY, SECRET
from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_html import render_html


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in {"meta", "br", "circle", "rect", "line", "path", "img", "link", "input"}:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"circle", "rect", "line", "path"}:
            return
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.open[-3:]})")
            return
        self.open.pop()


def _parse(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return collector


def test_html_is_well_formed_and_self_contained(sample_run: Run) -> None:
    text = render_html(sample_run, analyze(sample_run))
    parsed = _parse(text)
    assert parsed.errors == [] and parsed.open == []
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for _, attrs in parsed.tags:
        for name, value in attrs.items():
            if name in ("src", "href") and value:
                assert value.startswith("#"), value  # only in-page links
    assert any(tag == "meta" and attrs.get("name") == "viewport" for tag, attrs in parsed.tags)


def test_three_plots_per_item_with_windows_and_calls(sample_run: Run) -> None:
    text = render_html(sample_run, analyze(sample_run))
    parsed = _parse(text)
    plots = [attrs for tag, attrs in parsed.tags if tag == "svg"]
    assert len(plots) == 3 * len(sample_run.items)
    assert all("viewBox" in attrs or "viewbox" in attrs for attrs in plots)
    shaded = [attrs for tag, attrs in parsed.tags if tag == "rect" and attrs.get("class") == "fault-window"]
    item_windows = sum(1 for item in sample_run.items for w in item.windows if w.anchor == "item")
    assert len(shaded) == 2 * item_windows  # latency timeline + errors over time
    marks = [attrs for tag, attrs in parsed.tags if tag in ("circle", "path") and "call" in (attrs.get("class") or "")]
    assert len(marks) == len(sample_run.records)
    errors = [attrs for attrs in marks if "error" in (attrs.get("class") or "")]
    assert len(errors) == 6 + 0  # the six blackhole timeouts (the 5 s POST answered, slowly)


def test_html_has_no_secret(sample_run: Run) -> None:
    text = render_html(sample_run, analyze(sample_run))
    assert SECRET not in text and API_KEY not in text
    assert "secret_password=[redacted]" in text


def test_long_runs_are_thinned_keeping_errors_and_tail() -> None:
    from lueur_net.analysis.svg import Point, thin_points

    points = [Point(t=i / 100, value=5.0 + (i % 7), error=(i % 500 == 0)) for i in range(50_000)]
    points[12_345] = Point(t=123.45, value=900.0)  # the slowest call
    kept = thin_points(points, limit=3_000)
    assert len(kept) <= 3_000
    assert sum(p.error for p in kept) == 100  # every error (50000 / 500)
    assert any(p.value == 900.0 for p in kept)
    assert [p.t for p in kept] == sorted(p.t for p in kept)
    assert thin_points(points[:10]) == points[:10]
