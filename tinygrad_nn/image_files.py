"""Grayscale images as PNG, SVG or PDF, written with the standard library only (for the
CLI's `backquery`), so an image's bytes always match its file name's suffix.

Imports only `serialize` (for the atomic write).
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from .serialize import atomic_write

__all__ = ["IMAGE_FORMATS", "image_format", "png_gray", "svg_gray", "pdf_gray",
           "write_gray"]

IMAGE_FORMATS = ("png", "svg", "pdf")


def image_format(path: str | os.PathLike, what: str = "image") -> str:
    """The format named by `path`'s suffix, or ValueError naming the file and `what` it is
    for (e.g. a flag) when it is not png, svg or pdf."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in IMAGE_FORMATS:
        got = f"suffix .{fmt}" if fmt else "no suffix"
        raise ValueError(f"{what} {path}: {got}; images are written as .png, .svg or .pdf")
    return fmt


def png_gray(image: np.ndarray) -> bytes:
    """A 2-D uint8 array (0 = black) -> an 8-bit grayscale PNG."""
    h, w = image.shape
    rows = b"".join(b"\x00" + image[r].tobytes() for r in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def svg_gray(image: np.ndarray, scale: int = 1) -> bytes:
    """A 2-D uint8 array -> an SVG with one square per pixel, `scale` units wide each."""
    h, w = image.shape
    cells = "".join(f'<rect x="{c}" y="{r}" width="1" height="1" fill="#{v:02x}{v:02x}{v:02x}"/>'
                    for r in range(h) for c in range(w) for v in (int(image[r, c]),))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * scale}" '
            f'height="{h * scale}" viewBox="0 0 {w} {h}" shape-rendering="crispEdges">'
            f"{cells}</svg>\n").encode("ascii")


def pdf_gray(image: np.ndarray, scale: int = 1) -> bytes:
    """A 2-D uint8 array -> a one-page PDF showing it, `scale` points per pixel."""
    h, w = image.shape
    pixels = zlib.compress(np.ascontiguousarray(image, np.uint8).tobytes(), 9)
    W, H = w * scale, h * scale
    paint = f"q {W} 0 0 {H} 0 0 cm /Im0 Do Q".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {W} {H}] "
         f"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>").encode("ascii"),
        (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
         f"/BitsPerComponent 8 /Interpolate false /Filter /FlateDecode /Length {len(pixels)} "
         f">>\nstream\n").encode("ascii") + pixels + b"\nendstream",
        f"<< /Length {len(paint)} >>\nstream\n".encode("ascii") + paint + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{o:010d} 00000 n \n".encode("ascii") for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            f"%%EOF\n").encode("ascii")
    return bytes(out)


def write_gray(path: str | os.PathLike, image: np.ndarray, scale: int = 1,
               op: str = "write") -> None:
    """Write a 2-D uint8 array (0 = black) to `path` in the format of its suffix (png, svg,
    pdf), each pixel `scale` units wide, atomically."""
    fmt = image_format(path, op)
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"{op}: expected a 2-D uint8 image, got {image.dtype} "
                         f"{image.shape}")
    if fmt == "png":
        data = png_gray(np.kron(image, np.ones((scale, scale), np.uint8)))
    elif fmt == "svg":
        data = svg_gray(image, scale)
    else:
        data = pdf_gray(image, scale)
    atomic_write(path, data, op)
