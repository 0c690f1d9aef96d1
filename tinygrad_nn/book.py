"""The text's neural network, kept as the text has it: plain NumPy, column vectors, no
biases, sigmoid everywhere, and its hand-derived update rules.

This is the reference that autograd is compared against. Its output-layer update is the
true gradient step of E = ½·Σ(t − o)². Its hidden-layer rule is the text's shortcut: the
hidden errors are the output errors sent back through the weights, `W_hoᵀ·e`, without the
output sigmoid's slope `o·(1−o)` that the exact gradient carries. The arithmetic is the
text's own, operation for operation (its activation is `scipy.special.expit`), so a run
seeded as the text seeds (`numpy.random.seed(n)` before construction, or `seed=n`) gives
its numbers to the last bit. Imports no other module of the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

__all__ = ["BookNetwork", "sigmoid", "logit"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The activation function, 1/(1+e^(−x)): `scipy.special.expit`, as the text uses
    (NumPy's own `exp` differs from it in the last bit for about 2% of inputs)."""
    return expit(x)


def logit(y: np.ndarray) -> np.ndarray:
    """The inverse of the sigmoid, ln(y/(1−y)), used to run the network backwards."""
    return np.log(y / (1.0 - y))


def _column(values: Any, n: int, what: str, dtype: Any) -> np.ndarray:
    col = np.array(values, dtype=dtype, ndmin=2)
    if col.shape[0] == 1 and col.shape[1] != 1:
        col = col.T  # a flat list becomes a column vector, as in the text
    if col.shape != (n, 1):
        raise ValueError(f"BookNetwork.{what}: expected {n} values, got shape "
                         f"{np.shape(values)}")
    return col


class BookNetwork:
    """Three layers of sigmoid nodes: input -> hidden -> output, as the text builds it.

    `wih` (hidden × input) and `who` (output × hidden) start from the text's rule,
    normal(0, incoming_links**-0.5), drawn as the text draws them: `wih` first, then
    `who`, from NumPy's legacy global generator, so `numpy.random.seed(n)` before
    construction repeats a run of the text's code. `seed=n` gives the same weights
    without touching the global generator; `rng` (a `numpy.random.Generator` or a seed
    for one) draws from that instead. The text's argument names (`inputnodes`,
    `hiddennodes`, `outputnodes`, `learningrate`) are accepted as keywords.
    """

    def __init__(self, input_nodes: int | None = None, hidden_nodes: int | None = None,
                 output_nodes: int | None = None, learning_rate: float | None = None,
                 rng: Any = None, dtype: Any = np.float64, *, seed: int | None = None,
                 inputnodes: int | None = None, hiddennodes: int | None = None,
                 outputnodes: int | None = None, learningrate: float | None = None) -> None:
        input_nodes = _one_of("input_nodes", input_nodes, "inputnodes", inputnodes)
        hidden_nodes = _one_of("hidden_nodes", hidden_nodes, "hiddennodes", hiddennodes)
        output_nodes = _one_of("output_nodes", output_nodes, "outputnodes", outputnodes)
        learning_rate = _one_of("learning_rate", learning_rate, "learningrate", learningrate)
        for name, n in (("input_nodes", input_nodes), ("hidden_nodes", hidden_nodes),
                        ("output_nodes", output_nodes)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"BookNetwork: {name} must be a positive int, got {n!r}")
        if isinstance(learning_rate, bool) or not isinstance(
                learning_rate, (int, float, np.integer, np.floating)):
            raise TypeError(f"BookNetwork: learning_rate must be a number, got "
                            f"{learning_rate!r}")
        if not learning_rate > 0:
            raise ValueError(f"BookNetwork: learning_rate must be > 0, got {learning_rate!r}")
        if seed is not None and rng is not None:
            raise ValueError("BookNetwork: give seed= (the text's way) or rng=, not both")
        self.inodes, self.hnodes, self.onodes = int(input_nodes), int(hidden_nodes), int(
            output_nodes)
        self.lr = float(learning_rate)
        self.dtype = np.dtype(dtype)
        if rng is not None:
            gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        elif seed is not None:
            gen = np.random.RandomState(seed)  # = numpy.random.seed(seed), but private
        else:
            gen = np.random  # the legacy global generator, as the text draws
        self.wih = gen.normal(0.0, pow(self.inodes, -0.5), (self.hnodes, self.inodes)).astype(
            self.dtype, copy=False)
        self.who = gen.normal(0.0, pow(self.hnodes, -0.5), (self.onodes, self.hnodes)).astype(
            self.dtype, copy=False)

    @property
    def learning_rate(self) -> float:
        return self.lr

    def train(self, inputs_list: Any, targets_list: Any) -> float:
        """One step of the text's rule on one sample; returns its error ½·Σ(t − o)²."""
        return self._train(inputs_list, targets_list)[0]

    def _train(self, inputs_list: Any, targets_list: Any) -> tuple:
        """`train`, also returning the outputs computed before the update (for running
        accuracy without a second forward pass)."""
        d_who, d_wih, error, final_outputs = self.updates(inputs_list, targets_list)
        self.who += d_who
        self.wih += d_wih
        return error, final_outputs

    def updates(self, inputs_list: Any, targets_list: Any) -> tuple:
        """The text's rule for one sample, not applied: (ΔW_ho, ΔW_ih, error ½·Σ(t − o)²,
        outputs). `train` adds the two steps to `who` and `wih`."""
        inputs = _column(inputs_list, self.inodes, "train", self.dtype)
        targets = _column(targets_list, self.onodes, "train", self.dtype)

        hidden_outputs = sigmoid(np.dot(self.wih, inputs))  # X = W·I, then σ
        final_outputs = sigmoid(np.dot(self.who, hidden_outputs))

        output_errors = targets - final_outputs              # e = t − o
        hidden_errors = np.dot(self.who.T, output_errors)   # the text's shortcut: Wᵀ·e

        # ΔW_ho = α·(e·o·(1−o)) ⊗ h  — exactly −α·∂E/∂W_ho
        d_who = self.lr * np.dot(output_errors * final_outputs * (1.0 - final_outputs),
                                 hidden_outputs.T)
        # ΔW_ih = α·(hidden_errors·h·(1−h)) ⊗ x  — not the gradient (lacks o·(1−o))
        d_wih = self.lr * np.dot(hidden_errors * hidden_outputs * (1.0 - hidden_outputs),
                                 inputs.T)
        return d_who, d_wih, float(0.5 * np.sum(output_errors**2)), final_outputs

    def query(self, inputs_list: Any) -> np.ndarray:
        """The network's output (a column vector) for one input."""
        inputs = _column(inputs_list, self.inodes, "query", self.dtype)
        return sigmoid(np.dot(self.who, sigmoid(np.dot(self.wih, inputs))))

    def backquery(self, targets_list: Any) -> np.ndarray:
        """Run the network backwards: the input (a column, scaled to 0.01..0.99) that the
        network associates with the given output, e.g. a one-hot label."""
        final_outputs = _column(targets_list, self.onodes, "backquery", self.dtype)
        final_inputs = logit(np.clip(final_outputs, 1e-6, 1 - 1e-6))
        hidden_outputs = _rescale(np.dot(self.who.T, final_inputs))
        hidden_inputs = logit(hidden_outputs)
        return _rescale(np.dot(self.wih.T, hidden_inputs))


def _one_of(name: str, value: Any, book_name: str, book_value: Any) -> Any:
    """An argument given by this project's name or by the text's (`inputnodes`, ...)."""
    if value is not None and book_value is not None:
        raise TypeError(f"BookNetwork: got both {name} and {book_name} (the text's name for "
                        f"it); give one")
    if value is None and book_value is None:
        raise TypeError(f"BookNetwork: missing {name} (or the text's {book_name})")
    return value if value is not None else book_value


def _rescale(x: np.ndarray) -> np.ndarray:
    """Map values into 0.01..0.99 (the sigmoid's useful range), as the text does."""
    x = x - x.min()
    span = x.max()
    if span > 0:
        x = x / span
    return x * 0.98 + 0.01
