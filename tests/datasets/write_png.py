"""Writes small PNG files with the standard library only (no imaging package needed).

Usage: write_png.py OUT KIND WIDTH HEIGHT VALUES...
  KIND: gray8, palette8, palette4, gray16 or rgb8; VALUES: row-major pixel values (for rgb8,
  three per pixel).
"""
import struct
import sys
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


out, kind, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
values = [int(v) for v in sys.argv[5:]]
color_type, depth, channels = {"gray8": (0, 8, 1), "gray16": (0, 16, 1), "palette8": (3, 8, 1),
                               "palette4": (3, 4, 1), "rgb8": (2, 8, 3)}[kind]
raw = b""
per_row = width * channels
for r in range(height):
    row = values[r * per_row:(r + 1) * per_row]
    if depth == 16:
        data = b"".join(struct.pack(">H", v) for v in row)
    elif depth == 4:
        row = row + [0] * (len(row) % 2)
        data = bytes((row[i] << 4) | row[i + 1] for i in range(0, len(row), 2))
    else:
        data = bytes(row)
    raw += b"\x00" + data
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
if color_type == 3:
    png += chunk(b"PLTE", bytes(range(48)))  # 16 arbitrary colours: the index is what counts
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(out, "wb").write(png)
