"""Your own handwriting, as the text tests it: draw digits as image files (dark ink on
white, any size), then ask a trained network what it reads, each image converted the
text's way (grey, shrunk to the network's input size, inverted so ink is high, scaled
to 0.01..1.0). Needs Pillow (`pip install 'tinygrad-nn[image]'`)."""

import pathlib
import sys
import tempfile

from PIL import Image, ImageDraw

from tinygrad_nn.cli import main

STROKES = {  # pen strokes on a 100x100 sheet, as a reader might draw the digits
    "zero": [("ellipse", (20, 8, 80, 92))],
    "one": [("line", (40, 25, 55, 12)), ("line", (55, 12, 55, 88))],
    "seven": [("line", (25, 15, 75, 15)), ("line", (75, 15, 45, 88))],
}


def draw(path: pathlib.Path, strokes: list) -> None:
    sheet = Image.new("L", (100, 100), 255)
    pen = ImageDraw.Draw(sheet)
    for kind, box in strokes:
        if kind == "ellipse":
            pen.ellipse(box, outline=0, width=13)
        else:
            pen.line(box, fill=0, width=13)
    sheet.save(path)


def main_() -> int:
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
    model = folder / "digits.npz"
    print("training the text's network on the bundled 8x8 digits (its own loop, seed 0):")
    if main(["train", "--rule", "book", "--exact", "--epochs", "20", "--save", str(model),
             "--quiet"]):
        return 1
    files = []
    for name, strokes in STROKES.items():
        files.append(folder / f"{name}.png")
        draw(files[-1], strokes)
    print("what it reads in three drawn digits (the file, the digit, the ten outputs):")
    return main(["predict", *map(str, files), "--model", str(model),
                 "--show", str(folder / "seen.png")])


if __name__ == "__main__":
    sys.exit(main_())
