"""The text's later chapters (MNIST, your own handwriting, rotations, running backwards),
checked against the text's own code, which is copied here as printed."""

import re

import numpy
import numpy as np
import pytest
import scipy.ndimage
import scipy.special

from tinygrad_nn import data as D
from tinygrad_nn import images as I
from tinygrad_nn.book import BookNetwork
from tinygrad_nn.cli import load_model, main


class neuralNetwork:  # noqa: N801 - the text's class, as printed
    def __init__(self, inputnodes, hiddennodes, outputnodes, learningrate):
        self.inodes = inputnodes
        self.hnodes = hiddennodes
        self.onodes = outputnodes
        self.wih = numpy.random.normal(0.0, pow(self.inodes, -0.5), (self.hnodes, self.inodes))
        self.who = numpy.random.normal(0.0, pow(self.hnodes, -0.5), (self.onodes, self.hnodes))
        self.lr = learningrate
        self.activation_function = lambda x: scipy.special.expit(x)
        self.inverse_activation_function = lambda x: scipy.special.logit(x)

    def train(self, inputs_list, targets_list):
        inputs = numpy.array(inputs_list, ndmin=2).T
        targets = numpy.array(targets_list, ndmin=2).T
        hidden_inputs = numpy.dot(self.wih, inputs)
        hidden_outputs = self.activation_function(hidden_inputs)
        final_inputs = numpy.dot(self.who, hidden_outputs)
        final_outputs = self.activation_function(final_inputs)
        output_errors = targets - final_outputs
        hidden_errors = numpy.dot(self.who.T, output_errors)
        self.who += self.lr * numpy.dot((output_errors * final_outputs * (1.0 - final_outputs)),
                                        numpy.transpose(hidden_outputs))
        self.wih += self.lr * numpy.dot((hidden_errors * hidden_outputs * (1.0 - hidden_outputs)),
                                        numpy.transpose(inputs))

    def query(self, inputs_list):
        inputs = numpy.array(inputs_list, ndmin=2).T
        hidden_outputs = self.activation_function(numpy.dot(self.wih, inputs))
        return self.activation_function(numpy.dot(self.who, hidden_outputs))

    def backquery(self, targets_list):
        final_outputs = numpy.array(targets_list, ndmin=2).T
        final_inputs = self.inverse_activation_function(final_outputs)
        hidden_outputs = numpy.dot(self.who.T, final_inputs)
        hidden_outputs -= numpy.min(hidden_outputs)
        hidden_outputs /= numpy.max(hidden_outputs)
        hidden_outputs *= 0.98
        hidden_outputs += 0.01
        hidden_inputs = self.inverse_activation_function(hidden_outputs)
        inputs = numpy.dot(self.wih.T, hidden_inputs)
        inputs -= numpy.min(inputs)
        inputs /= numpy.max(inputs)
        inputs *= 0.98
        inputs += 0.01
        return inputs


def book_run(records, test_records, hidden, lr, epochs, seed, rotate=None):
    """The text's MNIST notebook: train in file order, then its scorecard."""
    numpy.random.seed(seed)
    n = neuralNetwork(784, hidden, 10, lr)
    for _ in range(epochs):
        for record in records:
            all_values = record.split(",")
            inputs = (numpy.asarray(all_values[1:], dtype=float) / 255.0 * 0.99) + 0.01
            targets = numpy.zeros(10) + 0.01
            targets[int(all_values[0])] = 0.99
            n.train(inputs, targets)
            if rotate:
                img = inputs.reshape(28, 28)
                for a in (rotate, -rotate):
                    turned = scipy.ndimage.rotate(img, a, cval=0.01, order=1, reshape=False)
                    n.train(turned.reshape(784), targets)
    scorecard = []
    for record in test_records:
        all_values = record.split(",")
        inputs = (numpy.asarray(all_values[1:], dtype=float) / 255.0 * 0.99) + 0.01
        scorecard.append(int(numpy.argmax(n.query(inputs)) == int(all_values[0])))
    return n, numpy.asarray(scorecard).sum() / len(scorecard)


def mnist_like(n):
    """(pixels uint8 (n, 784), labels): the bundled 8x8 digits drawn at 28x28, 0-255."""
    Xtr, ytr, _, _ = D.load_digits()
    big = scipy.ndimage.zoom(Xtr[:n].reshape(n, 8, 8).astype(np.float64), (1, 3, 3), order=1)
    pixels = np.zeros((n, 28, 28))
    pixels[:, 2:26, 2:26] = big
    return (pixels * 255).round().clip(0, 255).astype(np.uint8).reshape(n, 784), ytr[:n]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    X, y = mnist_like(150)
    lines = [",".join(map(str, [lab, *row])) for lab, row in zip(y, X)]
    path = tmp_path_factory.mktemp("mnist") / "mnist_like.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def accuracy(out):
    m = re.search(r"^test accuracy: (\d\.\d{4})$", out, re.M)
    assert m, out
    return float(m.group(1))


# ----------------------------------------------------------------------------- BookNetwork


def test_seed_draws_the_texts_weights_and_leaves_the_global_generator_alone():
    numpy.random.seed(7)
    ref = neuralNetwork(12, 5, 3, 0.2)
    after = numpy.random.get_state()[1].copy()
    numpy.random.seed(123)
    state = numpy.random.get_state()[1].copy()
    net = BookNetwork(12, 5, 3, 0.2, seed=7)
    assert np.array_equal(net.wih, ref.wih) and np.array_equal(net.who, ref.who)
    assert np.array_equal(numpy.random.get_state()[1], state)  # seed= is private
    numpy.random.seed(7)  # the text's way: seed the global generator, then construct
    net = BookNetwork(12, 5, 3, 0.2)
    assert np.array_equal(net.wih, ref.wih) and np.array_equal(net.who, ref.who)
    assert np.array_equal(numpy.random.get_state()[1], after)


def test_the_texts_argument_names():
    net = BookNetwork(inputnodes=4, hiddennodes=3, outputnodes=2, learningrate=0.3, seed=0)
    assert (net.inodes, net.hnodes, net.onodes, net.lr) == (4, 3, 2, 0.3)
    with pytest.raises(TypeError, match="both input_nodes and inputnodes"):
        BookNetwork(4, 3, 2, 0.3, inputnodes=4)
    with pytest.raises(TypeError, match="missing learning_rate"):
        BookNetwork(4, 3, 2)
    with pytest.raises(ValueError, match="not both"):
        BookNetwork(4, 3, 2, 0.3, seed=1, rng=1)


def test_training_is_the_texts_to_the_last_bit(csv_file):
    _, lines = csv_file
    numpy.random.seed(3)
    ref = neuralNetwork(784, 20, 10, 0.1)
    net = BookNetwork(784, 20, 10, 0.1, seed=3)
    X, y = D.load_mnist(csv_file[0])
    inputs = D.book_scale(X, 255, np.float64)
    for record, x, label in zip(lines, inputs, y):
        all_values = record.split(",")
        x_ref = (numpy.asarray(all_values[1:], dtype=float) / 255.0 * 0.99) + 0.01
        assert np.array_equal(x, x_ref)
        t = numpy.zeros(10) + 0.01
        t[label] = 0.99
        ref.train(x_ref, t)
        net.train(x, t)
    assert np.array_equal(net.wih, ref.wih) and np.array_equal(net.who, ref.who)
    assert np.array_equal(net.query(inputs[0]), ref.query(inputs[0]))


# ----------------------------------------------------------------------------- train --exact


@pytest.mark.parametrize("seed", [0, 2])
def test_train_exact_gives_the_texts_accuracy_and_weights(capsys, tmp_path, csv_file, seed):
    path, lines = csv_file
    ref, ref_acc = book_run(lines[:120], lines[120:], 30, 0.1, 3, seed)
    model = tmp_path / "m.npz"
    code, out, _ = run(capsys, "train", "--data", path, "--rule", "book", "--exact",
                       "--hidden", 30, "--epochs", 3, "--seed", seed, "--save", model)
    assert code == 0 and "records in file order, float64" in out
    assert accuracy(out) == round(ref_acc, 4)
    m, meta = load_model(str(model))
    assert meta["dtype"] == "float64" and m[0].weight.data.dtype == np.float64
    assert np.array_equal(m[0].weight.data, ref.wih) and np.array_equal(m[2].weight.data,
                                                                         ref.who)


def test_train_exact_with_rotations_is_the_texts_rotation_run(capsys, tmp_path, csv_file):
    path, lines = csv_file
    ref, ref_acc = book_run(lines[:120], lines[120:], 20, 0.1, 2, 1, rotate=10)
    model = tmp_path / "r.npz"
    code, out, _ = run(capsys, "train", "--data", path, "--rule", "book", "--exact",
                       "--hidden", 20, "--epochs", 2, "--seed", 1, "--augment", "rotate=10",
                       "--save", model)
    assert code == 0 and "rotated by ±10°" in out
    assert accuracy(out) == round(ref_acc, 4)
    m, meta = load_model(str(model))
    assert meta["augment"] == "rotate=10"
    assert np.array_equal(m[0].weight.data, ref.wih)


def test_rotation_is_reproducible_and_works_with_autograd(capsys):
    args = ("train", "--epochs", 2, "--hidden", 20, "--augment", "rotate=10", "--quiet")
    first = accuracy(run(capsys, *args)[1])
    assert accuracy(run(capsys, *args)[1]) == first
    assert accuracy(run(capsys, *args, "--rule", "book")[1]) > 0.5


def test_rotated_copies_are_scipys():
    x = np.random.default_rng(0).uniform(0.01, 1, 784)
    plus, minus = I.rotated_copies(x, 10)
    img = x.reshape(28, 28)
    assert np.array_equal(plus, scipy.ndimage.rotate(img, 10, cval=0.01, order=1,
                                                     reshape=False).reshape(784))
    assert np.array_equal(minus, scipy.ndimage.rotate(img, -10, cval=0.01, order=1,
                                                      reshape=False).reshape(784))


@pytest.mark.parametrize("argv, needle", [
    (["train", "--exact"], "--rule book"),
    (["train", "--augment", "turn=10"], "rotate=DEG"),
    (["train", "--augment", "rotate=ten"], "not a number"),
    (["train", "--augment", "rotate=0"], "non-zero"),
])
def test_bad_book_flags_are_one_line(argv, needle, capsys):
    if argv[1] == "--augment":  # refused by the argument parser
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    else:
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_book_scale_float64_is_the_texts_expression():
    X = np.arange(256, dtype=np.uint8)[None, :]
    assert np.array_equal(D.book_scale(X, 255, np.float64),
                          numpy.asarray(X, dtype=float) / 255.0 * 0.99 + 0.01)
    assert D.book_scale(X).dtype == np.float32


# ----------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory, csv_file):
    path, _ = csv_file
    model = tmp_path_factory.mktemp("model") / "mnist.npz"
    assert main(["train", "--data", str(path), "--rule", "book", "--exact", "--hidden", "30",
                 "--epochs", "5", "--save", str(model), "--quiet"]) == 0
    return model


def handwriting(tmp_path, n=6):
    """PNG files of digits as a reader draws them: dark ink on white, 28x28."""
    Image = pytest.importorskip("PIL.Image")
    X, y = mnist_like(n)
    files = []
    for i, (row, label) in enumerate(zip(X, y)):
        f = tmp_path / f"digit_{i}_{label}.png"
        Image.fromarray(255 - row.reshape(28, 28)).save(f)
        files.append(f)
    return files, X, y


def test_predict_gives_the_texts_digit_and_outputs(capsys, tmp_path, mnist_model):
    Image = pytest.importorskip("PIL.Image")
    files, _, _ = handwriting(tmp_path)
    m, _ = load_model(str(mnist_model))
    ref = neuralNetwork(784, 30, 10, 0.1)
    ref.wih, ref.who = m[0].weight.data, m[2].weight.data
    code, out, _ = run(capsys, "predict", *files, "--model", mnist_model)
    assert code == 0
    lines = out.strip().splitlines()
    for f, line in zip(files, lines):
        # the text: imageio.imread(f, as_gray=True) is Pillow's "F" conversion
        img_array = np.asarray(Image.open(f).convert("F"))
        img_data = 255.0 - img_array.reshape(784)
        img_data = (img_data / 255.0 * 0.99) + 0.01
        outputs = ref.query(img_data)
        shown = line.split()
        assert shown[0] == f"{f}:" and int(shown[1]) == int(np.argmax(outputs))
        np.testing.assert_allclose([float(v) for v in shown[3:]], outputs[:, 0], atol=5e-5)


def test_predict_reads_colour_jpeg_and_other_sizes(capsys, tmp_path, mnist_model):
    Image = pytest.importorskip("PIL.Image")
    files, X, y = handwriting(tmp_path, 3)
    big = Image.open(files[0]).convert("RGB").resize((90, 60))  # not square, colour
    big.save(tmp_path / "photo.jpg")
    code, out, _ = run(capsys, "predict", tmp_path / "photo.jpg", files[0], "--model",
                       mnist_model, "--show", tmp_path / "seen.png")
    assert code == 0 and "wrote" in out
    seen = Image.open(tmp_path / "seen.png")
    assert seen.size == (2 * 224 + 8, 224)  # two 28x28 inputs, 8x, a one-pixel gap
    assert np.asarray(seen)[:, :224].mean() > 128  # dark ink on white, mostly white


def test_predict_fit_frames_the_digit_as_mnist_does(capsys, tmp_path, mnist_model):
    Image = pytest.importorskip("PIL.Image")
    sheet = np.full((300, 200), 255, np.uint8)
    sheet[40:100, 130:140] = 0  # a small "1" in the top-right corner of a large sheet
    Image.fromarray(sheet).save(tmp_path / "corner.png")
    grey = I.fit_digit(I.read_grey(tmp_path / "corner.png", None), 28)
    ink = 255 - grey
    rows, cols = np.nonzero(ink > 1)
    assert rows.min() >= 3 and rows.max() <= 24 and rows.max() - rows.min() + 1 == 20
    cy, cx = (np.array(np.nonzero(ink)).T * ink[ink > 0][:, None]).sum(0) / ink.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    code, out, _ = run(capsys, "predict", tmp_path / "corner.png", "--model", mnist_model,
                       "--fit", "--show", tmp_path / "seen.png")
    assert code == 0 and out.startswith(f"{tmp_path / 'corner.png'}: ")
    Image.fromarray(np.full((30, 30), 255, np.uint8)).save(tmp_path / "blank.png")
    code, _, err = run(capsys, "predict", tmp_path / "blank.png", "--model", mnist_model,
                       "--fit")
    assert code == 2 and "no ink" in err and "blank.png" in err


def test_predict_on_the_8x8_digits_model(capsys, tmp_path):
    pytest.importorskip("PIL.Image")
    files, _, y = handwriting(tmp_path, 10)
    model = tmp_path / "digits.npz"
    assert main(["train", "--epochs", "20", "--hidden", "30", "--save", str(model),
                 "--quiet"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "predict", *files, "--model", model)
    assert code == 0
    digits = [int(line.split()[1]) for line in out.strip().splitlines()]
    assert np.mean(np.array(digits) == y) >= 0.6  # 28x28 drawings shrunk to 8x8


def test_predict_without_pillow_is_one_clear_line(capsys, tmp_path, mnist_model, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    (tmp_path / "x.png").write_bytes(b"")
    code, _, err = run(capsys, "predict", tmp_path / "x.png", "--model", mnist_model)
    assert code == 2 and "pip install 'tinygrad-nn[image]'" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_bad_image_names_the_file(capsys, tmp_path, mnist_model):
    pytest.importorskip("PIL.Image")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    code, _, err = run(capsys, "predict", bad, "--model", mnist_model)
    assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "predict", tmp_path / "missing.png", "--model", mnist_model)
    assert code == 2 and "no such file" in err


# ----------------------------------------------------------------------------- backquery


def test_backquery_of_an_mnist_model_is_the_texts_image_at_28x28(capsys, tmp_path,
                                                                 mnist_model):
    Image = pytest.importorskip("PIL.Image")
    m, _ = load_model(str(mnist_model))
    ref = neuralNetwork(784, 30, 10, 0.1)
    ref.wih, ref.who = m[0].weight.data.copy(), m[2].weight.data.copy()
    targets = numpy.zeros(10) + 0.01
    targets[4] = 0.99
    image_data = ref.backquery(targets).reshape(28, 28)
    code, out, _ = run(capsys, "backquery", "--model", mnist_model, "--label", 4, "-o",
                       tmp_path / "four.png")
    assert code == 0 and "note" not in out
    img = np.asarray(Image.open(tmp_path / "four.png"))
    assert img.shape == (28, 28)
    expect = (255 * (1 - (image_data - 0.01) / 0.98)).clip(0, 255).astype(np.uint8)
    assert np.abs(img.astype(int) - expect).max() <= 1  # dark = high, as cmap='Greys'
    code, out, _ = run(capsys, "backquery", "--model", mnist_model, "--label", 4, "-o",
                       tmp_path / "big.png", "--size", 224)
    big = np.asarray(Image.open(tmp_path / "big.png"))
    assert big.shape == (224, 224) and np.array_equal(big[::8, ::8], img)


def test_backquery_of_the_8x8_digits_is_upscaled_with_a_note(capsys, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    model = tmp_path / "d.npz"
    assert main(["train", "--epochs", "3", "--hidden", "20", "--save", str(model),
                 "--quiet"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "backquery", "--model", model, "--label", 0, "-o",
                       tmp_path / "zero.png")
    assert code == 0 and "note: the network sees 8x8 pixels" in out
    img = np.asarray(Image.open(tmp_path / "zero.png"))
    assert img.shape == (224, 224) and img.min() < 20 and img.max() > 235
    code, out, _ = run(capsys, "backquery", "--model", model, "--label", 0, "-o",
                       tmp_path / "blocks.png", "--no-smooth", "--size", 64)
    blocks = np.asarray(Image.open(tmp_path / "blocks.png"))
    assert blocks.shape == (64, 64) and len(np.unique(blocks)) <= 64


# ----------------------------------------------------------------------------- explain


def test_explain_during_training_matches_a_hand_computation(capsys, tmp_path):
    code, out, _ = run(capsys, "explain", "--during-training", "--epochs", 1, "--points", 2,
                       "--probe", 20, "--hidden", 10, "--plot", tmp_path / "drift.png")
    assert code == 0 and (tmp_path / "drift.png").read_bytes()[:4] == b"\x89PNG"
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s", line)]
    assert [int(r[0]) for r in rows] == [0, 719, 1438]

    # the first row by hand: the initial weights of seed 0, closed-form exact gradient
    Xtr, ytr, _, _ = D.load_digits()
    X = D.book_scale(Xtr, 1.0, np.float64)[:20]
    net = BookNetwork(64, 10, 10, 0.1, seed=0)
    ratios, cosines = [], []
    for x, label in zip(X, ytr[:20]):
        t = np.zeros(10) + 0.01
        t[label] = 0.99
        _, d_wih, _, _ = net.updates(x, t)
        h = scipy.special.expit(net.wih @ x[:, None])
        o = scipy.special.expit(net.who @ h)
        exact = 0.1 * ((net.who.T @ ((t[:, None] - o) * o * (1 - o))) * h * (1 - h)) @ x[None]
        ratios.append(np.linalg.norm(d_wih) / np.linalg.norm(exact))
        cosines.append(np.sum(d_wih * exact) / np.linalg.norm(d_wih) / np.linalg.norm(exact))
    first = rows[0]
    assert float(first[1]) == pytest.approx(np.median(ratios), rel=2e-3)
    assert float(first[2]) == pytest.approx(np.min(ratios), rel=2e-3)
    assert float(first[4]) == pytest.approx(np.median(cosines), abs=1e-3)
    assert 3.5 < float(first[1]) < 4.5  # about 1/0.25 at the start, as the docs say
    for r in rows:
        assert r[6:] == ["1.000", "1.000"]  # the output layer's step is the gradient's


def test_explain_during_training_from_saved_weights(capsys, tmp_path):
    model = tmp_path / "d.npz"
    assert main(["train", "--rule", "book", "--exact", "--epochs", "3", "--hidden", "20",
                 "--save", str(model), "--quiet"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "explain", "--during-training", "--model", model, "--epochs", 0,
                       "--probe", 30)
    assert code == 0 and f"on the weights of {model}" in out
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s", line)]
    assert len(rows) == 1 and rows[0][0] == "0"
    m, _ = load_model(str(model))
    Xtr, ytr, _, _ = D.load_digits()
    X = D.book_scale(Xtr, 1.0, np.float64)[:30]
    w_ih, w_ho = m[0].weight.data, m[2].weight.data
    ratios = []
    for x, label in zip(X, ytr[:30]):
        t = np.zeros(10) + 0.01
        t[label] = 0.99
        h = scipy.special.expit(w_ih @ x[:, None])
        o = scipy.special.expit(w_ho @ h)
        book = ((w_ho.T @ (t[:, None] - o)) * h * (1 - h)) @ x[None]
        exact = ((w_ho.T @ ((t[:, None] - o) * o * (1 - o))) * h * (1 - h)) @ x[None]
        ratios.append(np.linalg.norm(book) / np.linalg.norm(exact))
    assert float(rows[0][1]) == pytest.approx(np.median(ratios), rel=2e-3)
    assert float(rows[0][1]) > 4.3  # trained weights: above the 4x of the start
    code, _, err = run(capsys, "explain", "--probe", 5)
    assert code == 2 and "--during-training" in err


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "1"])
def test_images_are_read_as_imageio_reads_them_as_grey(tmp_path, mode):
    Image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(0).integers(0, 256, (28, 28, 3)).astype(np.uint8)
    f = tmp_path / f"x_{mode}.png"
    Image.fromarray(pixels, "RGB").convert(mode).save(f)
    grey = I.read_grey(f, 28)
    assert grey.dtype == np.float32
    assert np.array_equal(grey, np.asarray(Image.open(f).convert("F")))  # as_gray=True


def test_an_exact_run_with_rotations_resumes_to_the_same_weights(capsys, tmp_path):
    args = ["train", "--rule", "book", "--exact", "--hidden", "20", "--augment", "rotate=10",
            "--quiet"]
    assert main(args + ["--epochs", "3", "--save", str(tmp_path / "full.npz")]) == 0
    assert main(args + ["--epochs", "2", "--save", str(tmp_path / "part.npz")]) == 0
    assert main(["train", "--resume", str(tmp_path / "part.npz"), "--epochs", "3", "--save",
                 str(tmp_path / "part.npz"), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[2]  # the same test accuracy
    full, _ = load_model(str(tmp_path / "full.npz"))
    part, meta = load_model(str(tmp_path / "part.npz"))
    assert meta["exact"] and meta["augment"] == "rotate=10"
    assert np.array_equal(full[0].weight.data, part[0].weight.data)
