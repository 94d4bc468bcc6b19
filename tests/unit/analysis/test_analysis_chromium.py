"""The HTML report in headless Chromium: its plots paint (the screenshot holds the plots' colours, not a blank
page) and the console stays silent, at desktop and phone widths. Chromium comes from setup.sh (Debian package)."""

from __future__ import annotations

import dataclasses
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from lueur_net.analysis.findings import analyze
from lueur_net.analysis.model import Run
from lueur_net.analysis.render_html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (setup.sh installs it)")

BLUE = (0x25, 0x63, 0xEB)  # answered calls (svg.COLOUR_OK): bars of 'errors over time'
RED = (0xDC, 0x26, 0x26)  # errors (svg.COLOUR_ERROR)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int32)
        if kind == 1:  # Sub: running sum per channel along the row
            line = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            line = (line + previous) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: each byte needs the decoded byte to its left
            out = line.tolist()
            up = previous.tolist()
            for i in range(stride):
                left = out[i - channels] if i >= channels else 0
                if kind == 3:
                    out[i] = (out[i] + (left + up[i]) // 2) & 0xFF
                else:
                    corner = up[i - channels] if i >= channels else 0
                    estimate = left + up[i] - corner
                    pa, pb, pc = abs(estimate - left), abs(estimate - up[i]), abs(estimate - corner)
                    out[i] = (out[i] + (left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner)) & 0xFF
            line = np.array(out, dtype=np.int32)
        previous = line
        pixels = line.astype(np.uint8).reshape(width, channels)[:, :3]
        rows.append(pixels.tobytes())
    return width, height, rows


def _screenshot(html: Path, out: Path, profile: Path, size: str) -> str:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        "--enable-logging=stderr", "--v=0", "--hide-scrollbars", f"--window-size={size}",
        f"--screenshot={out}", html.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


@pytest.mark.parametrize("size", ["1100,2600", "390,4200"], ids=["desktop", "phone"])
def test_plots_paint_without_console_errors(sample_run: Run, tmp_path: Path, size: str) -> None:
    # The report of the blackhole scenario alone, so its plots fall inside one screenshot.
    run = dataclasses.replace(sample_run, scenarios=[s for s in sample_run.scenarios if "black-hole" in s.title])
    html = tmp_path / "report.html"
    html.write_text(render_html(run, analyze(run)))
    png = tmp_path / "shot.png"
    log = _screenshot(html, png, tmp_path / "profile", size)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    width, height, rows = decode_png(png.read_bytes())
    assert (width, height) == tuple(int(v) for v in size.split(","))
    colours: set[bytes] = set()
    for row in rows[::7]:
        colours.update(row[i:i + 3] for i in range(0, len(row), 3))
    assert len(colours) > 20  # text, tables, plots: not a blank page
    assert bytes(BLUE) in colours and bytes(RED) in colours  # bars of answered calls and of errors painted
