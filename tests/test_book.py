"""The text's network: its hand rule against autograd, rule for rule."""

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.book import BookNetwork, sigmoid
from tinygrad_nn.nn.functional import squared_error


def twin(book):
    """An autograd network with the book network's weights (float64)."""
    model = nn.Sequential(nn.Linear(book.inodes, book.hnodes, bias=False, dtype=np.float64),
                          nn.Sigmoid(),
                          nn.Linear(book.hnodes, book.onodes, bias=False, dtype=np.float64),
                          nn.Sigmoid())
    model.load_state_dict({"0.weight": book.wih, "2.weight": book.who})
    return model


@pytest.fixture
def sample():
    rng = np.random.default_rng(5)
    x = rng.uniform(0.01, 1.0, 6)
    t = np.full(3, 0.01)
    t[1] = 0.99
    return x, t


def test_one_sgd_step_equals_the_book_rule_for_the_output_layer(sample):
    x, t = sample
    book = BookNetwork(6, 4, 3, learning_rate=0.3, rng=1)
    model = twin(book)
    w_ih0, w_ho0 = book.wih.copy(), book.who.copy()

    opt = optim.SGD(model.parameters(), lr=0.3)
    loss = squared_error(model(Tensor(x[None, :])), t[None, :])
    loss.backward()
    opt.step()
    book.train(x, t)

    # (a) output layer: exactly the text's update
    np.testing.assert_allclose(model[2].weight.data, book.who, rtol=0, atol=1e-12)

    # (b) hidden layer: autograd = exact gradient, which carries the output slope o(1−o);
    #     the book's rule sends back W_hoᵀ·e without it
    h = sigmoid(w_ih0 @ x[:, None])
    o = sigmoid(w_ho0 @ h)
    e = t[:, None] - o
    exact = 0.3 * ((w_ho0.T @ (e * o * (1 - o))) * h * (1 - h)) @ x[None, :]
    book_rule = 0.3 * ((w_ho0.T @ e) * h * (1 - h)) @ x[None, :]
    np.testing.assert_allclose(model[0].weight.data - w_ih0, exact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(book.wih - w_ih0, book_rule, rtol=0, atol=1e-12)
    ratio = np.linalg.norm(book_rule) / np.linalg.norm(exact)
    assert ratio > 2  # the hand rule's step is several times larger here


def test_query_matches_autograd_forward(sample):
    x, _ = sample
    book = BookNetwork(6, 4, 3, 0.1, rng=2)
    np.testing.assert_allclose(book.query(x)[:, 0], twin(book)(Tensor(x[None])).data[0],
                               rtol=1e-12)


def test_init_rule_and_shapes():
    book = BookNetwork(400, 300, 10, 0.1, rng=0)
    assert book.wih.shape == (300, 400) and book.who.shape == (10, 300)
    assert abs(book.wih.std() - 400**-0.5) < 0.002
    assert abs(book.who.std() - 300**-0.5) < 0.01


def test_backquery_shape_and_range():
    book = BookNetwork(16, 8, 4, 0.1, rng=0)
    img = book.backquery([0.99, 0.01, 0.01, 0.01])
    assert img.shape == (16, 1) and img.min() >= 0.01 - 1e-12 and img.max() <= 0.99 + 1e-12


def test_bad_input_lengths():
    book = BookNetwork(3, 2, 2, 0.1)
    with pytest.raises(ValueError, match="expected 3 values"):
        book.query([1, 2])
    with pytest.raises(ValueError, match="learning_rate"):
        BookNetwork(3, 2, 2, 0)


def test_book_learns_a_small_problem():
    book = BookNetwork(2, 4, 1, 0.5, rng=0)
    data = [([0.01, 0.99], [0.99]), ([0.99, 0.01], [0.01])]
    for _ in range(500):
        for x, t in data:
            book.train(x, t)
    assert book.query([0.01, 0.99])[0, 0] > 0.9 and book.query([0.99, 0.01])[0, 0] < 0.1


XOR = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), np.array([[0], [1], [1], [0]], float))


def train_xor(model, lr, epochs, seed):
    tg.manual_seed(seed)
    x, y = XOR
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        loss = squared_error(model(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (model(Tensor(x)).data > 0.5).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_linear_sigmoid_cannot_learn_xor(seed):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.Sigmoid())
    pred = train_xor(model, 0.5, 2000, seed)
    assert (pred == XOR[1]).sum() <= 3  # one line never separates XOR


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_layer_sigmoid_network_learns_xor(seed):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 4, dtype=np.float64), nn.Sigmoid(),
                          nn.Linear(4, 1, dtype=np.float64), nn.Sigmoid())
    pred = train_xor(model, 0.5, 2000, seed)
    np.testing.assert_array_equal(pred, XOR[1])
