"""Looking at HTML as a person would: headless Chromium (Debian's ``chromium``) and a small PNG decoder.

``chromium(purpose)`` finds the browser, or skips the test — under ``CI=true`` a missing browser fails it instead.
``screenshot`` renders a page to a PNG and decodes it with :func:`read_png` (zlib and the five PNG filters), so no
imaging library is needed; ``dump_dom`` returns the DOM after the page's scripts ran (the way the tests read
measurements a script wrote into the page).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def chromium(purpose: str = "the picture tests need it") -> str:
    """The Chromium binary; skip the test without one (fail under ``CI=true``)."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"chromium is not installed (apt-get install -y chromium): {purpose}")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def run(browser: str, *args: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run (no GPU, no sandbox, no scroll bars taking room)."""
    return subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           "--disable-dev-shm-usage", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def dump_dom(browser: str, page: Path, width: int, height: int = 1400, *, wait_ms: int = 0) -> str:
    """The page's DOM after its scripts ran (``wait_ms``: virtual time for the load event and timers)."""
    extra = [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
    result = run(browser, "--dump-dom", f"--window-size={width},{height}", *extra, page.as_uri())
    assert result.stdout.strip(), f"chromium gave no DOM: {result.stderr[-2000:]}"
    return result.stdout


# ------------------------------------------------------------------------------------------------- PNG


@dataclass(frozen=True)
class Picture:
    width: int
    height: int
    channels: int
    rows: list[bytes]  # unfiltered scanlines, `channels` bytes a pixel

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        c = self.channels
        return tuple(self.rows[y][x * c:(x + 1) * c])

    def non_white(self, threshold: int = 245) -> int:
        """How many pixels are not (nearly) white, in the RGB channels."""
        c = self.channels
        count = 0
        for row in self.rows:
            for i in range(0, len(row), c):
                if row[i] < threshold or row[i + 1] < threshold or row[i + 2] < threshold:
                    count += 1
        return count

    def dark(self, threshold: int = 140) -> int:
        """How many pixels are dark in every RGB channel: text, rules and the header band."""
        c = self.channels
        return sum(1 for row in self.rows for i in range(0, len(row), c) if max(row[i:i + 3]) < threshold)

    def colours(self) -> int:
        return len({self.pixel(x, y)[:3] for y in range(0, self.height, 7) for x in range(0, self.width, 3)})


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data: bytes) -> Picture:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        c = channels
        if kind == 1:
            for i in range(c, stride):
                line[i] = (line[i] + line[i - c]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - c] if i >= c else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - c] if i >= c else 0
                up_left = previous[i - c] if i >= c else 0
                line[i] = (line[i] + _paeth(left, previous[i], up_left)) & 0xFF
        else:
            assert kind == 0, f"unknown PNG filter {kind}"
        rows.append(bytes(line))
        previous = line
    return Picture(width, height, channels, rows)


def screenshot(browser: str, page: Path, out: Path, width: int, height: int) -> Picture:
    """Render ``page`` at ``width`` x ``height`` into ``out`` (PNG) and decode it."""
    result = run(browser, f"--screenshot={out}", f"--window-size={width},{height}", page.as_uri())
    assert out.exists(), f"no screenshot from chromium: {result.stderr[-2000:]}"
    return read_png(out.read_bytes())
