"""Pictures in and out of the text's network: read an image file as the network's inputs
(the text's "your own handwriting"), make the text's rotated training copies, and turn a
column of inputs back into a picture.

Reading needs Pillow (`pip install 'tinygrad-nn[image]'`); rotating and resizing use
scipy.ndimage. Imports no other module of the package.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["ImageError", "read_grey", "fit_digit", "book_inputs", "rotated_copies", "side_of",
           "to_picture", "upscale"]

PILLOW_MISSING = "reading images needs Pillow: pip install 'tinygrad-nn[image]'"


class ImageError(ValueError):
    """An image file cannot be read or used; the message names the file."""


def read_grey(path: str | os.PathLike, side: int | None) -> np.ndarray:
    """An image file -> float32 grey levels 0..255, shape (side, side), as the text reads
    it (`imageio.imread(path, as_gray=True)`: Pillow's "F" conversion, 0.299·R + 0.587·G +
    0.114·B). A picture of another size is padded to a square with its border's grey level
    (the paper) and resized with Lanczos filtering; one of the right size is left as it is.
    `side=None` keeps the picture's own size."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError(PILLOW_MISSING) from None
    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            im.load()
            frame = _as_imageio_does(im)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a folder, not an image") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ImageError(f"{path}: not an image Pillow can read ({e})") from None
    grey = np.asarray(frame, dtype=np.float32)
    if frame.mode == "F" and grey.size and grey.max() > 255:  # 16-bit grey: to 0..255
        grey = grey * np.float32(255.0 / 65535.0)
    if side is None or grey.shape == (side, side):
        return grey
    return _fit(grey, side, Image)


def fit_digit(grey: np.ndarray, side: int, invert: bool = True) -> np.ndarray:
    """Grey levels of any size -> (side, side), framed as MNIST frames its digits: the ink's
    bounding box scaled (aspect kept) into the middle 20/28 of the frame (the whole frame
    for smaller inputs such as the 8x8 digits, whose digits fill it), placed so the ink's
    centre of mass is at the centre. Not the text's own step; `predict --fit` uses it."""
    from PIL import Image

    ink = 255.0 - grey if invert else grey.astype(np.float64)
    ink = ink - np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]]))
    ink = np.clip(ink, 0, None)
    rows, cols = np.nonzero(ink > 0.25 * ink.max()) if ink.max() > 0 else ([], [])
    if len(rows) == 0:
        raise ImageError("fit: no ink found in the picture")
    ink = ink[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    box = side if side < 28 else round(side * 20 / 28)
    scale = box / max(ink.shape)
    h, w = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    small = np.clip(np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(
        (w, h), Image.Resampling.LANCZOS)), 0, 255)
    frame = np.zeros((side, side), np.float32)
    cy, cx = (np.array(np.nonzero(small)).T * small[small > 0][:, None]).sum(0) / small.sum()
    top = int(np.clip(round(side / 2 - 0.5 - cy), 0, side - h))
    left = int(np.clip(round(side / 2 - 0.5 - cx), 0, side - w))
    frame[top: top + h, left: left + w] = small
    return 255.0 - frame if invert else frame


def _as_imageio_does(im: Any) -> Any:
    """Pillow image -> mode "F", as imageio's `as_gray=True` converts it: straight to "F"
    from whatever mode the file has (palette, RGB(A), grey with alpha, ...)."""
    return im.convert("F")


def _fit(grey: np.ndarray, side: int, Image: Any) -> np.ndarray:
    h, w = grey.shape
    if h != w:
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        n = max(h, w)
        square = np.full((n, n), np.median(border), np.float32)
        top, left = (n - h) // 2, (n - w) // 2
        square[top: top + h, left: left + w] = grey
        grey = square
    small = Image.fromarray(grey, mode="F").resize((side, side), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(small, dtype=np.float32), 0, 255)


def book_inputs(grey: np.ndarray, invert: bool = True) -> np.ndarray:
    """Grey levels 0..255 -> the network's inputs, the text's way: inverted so ink is high
    (`255 − grey`), then `/255·0.99 + 0.01`; in the array's own precision (float32 for an
    image read by `read_grey`, as the text's)."""
    img = 255.0 - grey.reshape(-1) if invert else grey.reshape(-1)
    return img / 255.0 * 0.99 + 0.01


def side_of(n_inputs: int, what: str = "the model") -> int:
    """The side of a square picture with `n_inputs` pixels."""
    side = math.isqrt(n_inputs)
    if side * side != n_inputs:
        raise ImageError(f"{what}: {n_inputs} inputs do not form a square image")
    return side


def rotated_copies(inputs: np.ndarray, degrees: float, side: int | None = None) -> list:
    """The text's extra training images: the input turned by +degrees and −degrees
    (`scipy.ndimage.rotate(img, ±degrees, cval=0.01, order=1, reshape=False)`), flat."""
    from scipy.ndimage import rotate

    side = side or side_of(inputs.size, "rotate")
    img = inputs.reshape(side, side)
    return [rotate(img, a, cval=0.01, order=1, reshape=False).reshape(inputs.size)
            for a in (degrees, -degrees)]


def to_picture(inputs: np.ndarray, side: int | None = None) -> np.ndarray:
    """Inputs (0.01..0.99-ish, high = ink) -> uint8 grey picture, dark ink on white, as the
    text's `imshow(..., cmap='Greys')` shows them."""
    side = side or side_of(inputs.size, "picture")
    ink = (np.asarray(inputs, np.float64).reshape(side, side) - 0.01) / 0.98
    return (255 * (1 - ink)).clip(0, 255).astype(np.uint8)


def upscale(picture: np.ndarray, size: int, smooth: bool) -> np.ndarray:
    """A uint8 picture -> about size × size: whole-pixel blocks (each input stays one square),
    or, with `smooth`, cubic interpolation between the pixel centres."""
    h = picture.shape[0]
    factor = max(1, round(size / h))
    if not smooth:
        return np.kron(picture, np.ones((factor, factor), np.uint8))
    from scipy.ndimage import zoom

    return np.clip(zoom(picture.astype(np.float64), size / h, order=3, mode="nearest"), 0,
                   255).round().astype(np.uint8)
