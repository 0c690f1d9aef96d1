"""Grayscale images for backquery: the bytes match the suffix (PNG, SVG, PDF)."""

import re
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from tinygrad_nn.image_files import image_format, write_gray

IMAGE = np.array([[0, 128, 255], [255, 64, 0]], np.uint8)


def test_png(tmp_path):
    PIL = pytest.importorskip("PIL.Image")
    write_gray(tmp_path / "a.png", IMAGE, scale=2)
    with PIL.open(tmp_path / "a.png") as im:
        assert im.format == "PNG" and im.size == (6, 4)
        np.testing.assert_array_equal(np.asarray(im)[::2, ::2], IMAGE)


def test_svg(tmp_path):
    write_gray(tmp_path / "a.svg", IMAGE, scale=10)
    root = ET.parse(tmp_path / "a.svg").getroot()
    assert root.tag.endswith("svg") and root.get("width") == "30" and root.get("height") == "20"
    rects = [r for r in root if r.tag.endswith("rect")]
    fills = {(int(r.get("y")), int(r.get("x"))): int(r.get("fill")[1:3], 16) for r in rects}
    assert fills == {(r, c): int(IMAGE[r, c]) for r in range(2) for c in range(3)}


def test_pdf(tmp_path):
    write_gray(tmp_path / "a.pdf", IMAGE, scale=5)
    raw = (tmp_path / "a.pdf").read_bytes()
    assert raw.startswith(b"%PDF-1.4") and raw.rstrip().endswith(b"%%EOF")
    # the cross-reference table points at each object
    start = int(re.search(rb"startxref\n(\d+)", raw).group(1))
    assert raw[start:].startswith(b"xref")
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n", raw)]
    for i, off in enumerate(offsets, start=1):
        assert raw[off:].startswith(f"{i} 0 obj".encode())
    body = re.search(rb"/Length (\d+) >>\nstream\n", raw)
    n = int(body.group(1))
    pixels = zlib.decompress(raw[body.end(): body.end() + n])
    np.testing.assert_array_equal(np.frombuffer(pixels, np.uint8).reshape(2, 3), IMAGE)
    assert b"/MediaBox [0 0 15 10]" in raw


@pytest.mark.parametrize("name", ["a.jpg", "a", "a.png.gz"])
def test_other_suffixes_are_refused(name, tmp_path):
    with pytest.raises(ValueError, match=re.escape(name)):
        image_format(name, "-o")
    with pytest.raises(ValueError):
        write_gray(tmp_path / name, IMAGE)
    assert list(tmp_path.iterdir()) == []
