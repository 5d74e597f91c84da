"""Draws the Teams app icons (color.png, outline.png) with a tiny PNG writer; run once, commit the PNGs.

Teams wants a 192×192 full-colour icon and a 32×32 outline icon that is white on a transparent
background. The picture: a plate (the pizzeria's question) holding three rising bars (the value).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

Pixel = tuple[int, int, int, int]
HERE = Path(__file__).resolve().parent
ORANGE: Pixel = (194, 65, 12, 255)
WHITE: Pixel = (255, 255, 255, 255)
CLEAR: Pixel = (0, 0, 0, 0)


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An RGBA PNG (colour type 6), one filter byte per row."""
    rows = b"".join(
        b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _bars(size: int) -> list[tuple[float, float, float, float]]:
    """Three bars rising left to right, as (x0, y0, x1, y1) in pixels."""
    s = size / 32
    return [
        (10 * s, 17 * s, 13 * s, 22 * s),
        (14.5 * s, 13 * s, 17.5 * s, 22 * s),
        (19 * s, 9 * s, 22 * s, 22 * s),
    ]


def colour(x: int, y: int) -> Pixel:
    cx = cy = 96
    d = ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) ** 0.5
    if any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in _bars(192)):
        return ORANGE
    return WHITE if d <= 72 else ORANGE


def outline(x: int, y: int) -> Pixel:
    cx = cy = 16
    d = ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) ** 0.5
    if 12.5 <= d <= 14.5 or any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in _bars(32)):
        return WHITE
    return CLEAR


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(png(192, 192, colour))
    (HERE / "outline.png").write_bytes(png(32, 32, outline))
    print("wrote color.png and outline.png")
