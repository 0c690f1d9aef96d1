"""The text's neural network, kept as the text has it: plain NumPy, column vectors, no
biases, sigmoid everywhere, and its hand-derived update rules.

This is the reference that autograd is compared against. Its output-layer update is the
true gradient step of E = ½·Σ(t − o)². Its hidden-layer rule is the text's shortcut: the
hidden errors are the output errors sent back through the weights, `W_hoᵀ·e`, without the
output sigmoid's slope `o·(1−o)` that the exact gradient carries. Imports no other module
of the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BookNetwork", "sigmoid", "logit"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The activation function, 1/(1+e^(−x)) (overflow-free for large |x|)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


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
    normal(0, incoming_links**-0.5). `rng` (a seed or Generator) makes runs repeatable.
    """

    def __init__(self, input_nodes: int, hidden_nodes: int, output_nodes: int,
                 learning_rate: float, rng: Any = None, dtype: Any = np.float64) -> None:
        for name, n in (("input_nodes", input_nodes), ("hidden_nodes", hidden_nodes),
                        ("output_nodes", output_nodes)):
            if not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"BookNetwork: {name} must be a positive int, got {n!r}")
        if not learning_rate > 0:
            raise ValueError(f"BookNetwork: learning_rate must be > 0, got {learning_rate!r}")
        self.inodes, self.hnodes, self.onodes = int(input_nodes), int(hidden_nodes), int(
            output_nodes)
        self.lr = float(learning_rate)
        self.dtype = np.dtype(dtype)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.wih = gen.normal(0.0, self.inodes**-0.5, (self.hnodes, self.inodes)).astype(
            self.dtype)
        self.who = gen.normal(0.0, self.hnodes**-0.5, (self.onodes, self.hnodes)).astype(
            self.dtype)

    @property
    def learning_rate(self) -> float:
        return self.lr

    def train(self, inputs_list: Any, targets_list: Any) -> float:
        """One step of the text's rule on one sample; returns its error ½·Σ(t − o)²."""
        return self._train(inputs_list, targets_list)[0]

    def _train(self, inputs_list: Any, targets_list: Any) -> tuple:
        """`train`, also returning the outputs computed before the update (for running
        accuracy without a second forward pass)."""
        inputs = _column(inputs_list, self.inodes, "train", self.dtype)
        targets = _column(targets_list, self.onodes, "train", self.dtype)

        hidden_outputs = sigmoid(np.dot(self.wih, inputs))  # X = W·I, then σ
        final_outputs = sigmoid(np.dot(self.who, hidden_outputs))

        output_errors = targets - final_outputs              # e = t − o
        hidden_errors = np.dot(self.who.T, output_errors)   # the text's shortcut: Wᵀ·e

        # ΔW_ho = α·(e·o·(1−o)) ⊗ h  — exactly −α·∂E/∂W_ho
        self.who += self.lr * np.dot(output_errors * final_outputs * (1.0 - final_outputs),
                                     hidden_outputs.T)
        # ΔW_ih = α·(hidden_errors·h·(1−h)) ⊗ x  — not the gradient (lacks o·(1−o))
        self.wih += self.lr * np.dot(hidden_errors * hidden_outputs * (1.0 - hidden_outputs),
                                     inputs.T)
        return float(0.5 * np.sum(output_errors**2)), final_outputs

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


def _rescale(x: np.ndarray) -> np.ndarray:
    """Map values into 0.01..0.99 (the sigmoid's useful range), as the text does."""
    x = x - x.min()
    span = x.max()
    if span > 0:
        x = x / span
    return x * 0.98 + 0.01
