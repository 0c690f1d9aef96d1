"""The text's extra training examples: each image turned by +10 and -10 degrees
(`scipy.ndimage.rotate(img, ±10, cval=0.01, order=1, reshape=False)`), shown as text,
then the text's network trained with and without them on the bundled digits."""

import contextlib
import io
import sys

import numpy as np
from scipy.ndimage import zoom

from tinygrad_nn import data, images
from tinygrad_nn.cli import main

SHADES = " .:-=+*#%@"


def ascii_art(inputs: np.ndarray, side: int) -> list:
    ink = (inputs.reshape(side, side) - 0.01) / 0.99
    return ["".join(SHADES[min(9, int(v * 10))] for v in row) for row in ink.clip(0, 1)]


def accuracy(argv: list) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    return out.getvalue().strip().splitlines()[-1].split()[-1]


def main_() -> int:
    Xtr, ytr, _, _ = data.load_digits()
    seven = zoom(Xtr[ytr == 7][0].reshape(8, 8).astype(np.float64), 3, order=1).clip(0, 1)
    inputs = data.book_scale(seven.reshape(-1), 1.0, np.float64)  # a 24x24 seven
    plus, minus = images.rotated_copies(inputs, 10)
    print("a digit and its copies rotated by ±10° (+10 turns it anticlockwise):")
    for row in zip(*(ascii_art(x, 24) for x in (inputs, plus, minus))):
        print("  ".join(row))
    base = ["train", "--rule", "book", "--exact", "--epochs", "10", "--quiet"]
    print(f"the text's network on the bundled 8x8 digits, 10 epochs: test accuracy "
          f"{accuracy(base)} without the rotated copies, "
          f"{accuracy(base + ['--augment', 'rotate=10'])} with them")
    print("(on 8x8 pixels a 10° turn mostly blurs the strokes; on MNIST's 28x28 it lifts "
          "the accuracy, see docs/from-the-book.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
