"""The text's closed-form gradients, reproduced by autograd to 1e-12 (float64).

Output layer:  ∂E/∂W_ho = −(e·o·(1−o)) ⊗ h          (e = t − o)
Hidden layer:  ∂E/∂W_ih = −((W_hoᵀ·(e·o·(1−o)))·h·(1−h)) ⊗ x
with E = ½·Σ(t − o)², h = σ(W_ih·x), o = σ(W_ho·h).
"""

import numpy as np
import pytest

from tinygrad_nn import Tensor
from tinygrad_nn.nn.functional import squared_error


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward(x, w_ih, w_ho, t):
    """Rows are samples (batch, features): h = σ(x·W_ihᵀ), o = σ(h·W_hoᵀ)."""
    W_ih = Tensor(w_ih, requires_grad=True)
    W_ho = Tensor(w_ho, requires_grad=True)
    o = (((Tensor(x) @ W_ih.T).sigmoid()) @ W_ho.T).sigmoid()
    squared_error(o, t).backward()
    return W_ih.grad.data, W_ho.grad.data


@pytest.mark.parametrize("batch", [1, 5])
def test_closed_form_output_and_hidden_gradients(batch):
    rng = np.random.default_rng(batch)
    n_in, n_hid, n_out = 4, 3, 2
    x = rng.uniform(0.01, 1, (batch, n_in))
    t = rng.uniform(0.01, 0.99, (batch, n_out))
    w_ih = rng.normal(0, n_in**-0.5, (n_hid, n_in))
    w_ho = rng.normal(0, n_hid**-0.5, (n_out, n_hid))

    g_ih, g_ho = forward(x, w_ih, w_ho, t)

    h = sigmoid(x @ w_ih.T)
    o = sigmoid(h @ w_ho.T)
    e = t - o
    delta_o = e * o * (1 - o)                       # the text's e·σ(1−σ) per output node
    closed_ho = -delta_o.T @ h                      # Σ over the batch of −δ ⊗ h
    closed_ih = -((delta_o @ w_ho) * h * (1 - h)).T @ x
    np.testing.assert_allclose(g_ho, closed_ho, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g_ih, closed_ih, rtol=0, atol=1e-12)

    # the text's hand rule for the hidden layer drops the output slope o·(1−o): not the gradient
    book_ih = -((e @ w_ho) * h * (1 - h)).T @ x
    assert not np.allclose(book_ih, g_ih, rtol=1e-3)


def test_single_sample_column_vector_form():
    """With column vectors as in the text: ∂E/∂w_jk = −e_k·o_k(1−o_k)·h_j."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.01, 1, (3, 1))
    w_ih, w_ho = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    t = np.array([[0.01], [0.99], [0.01]])
    W_ih, W_ho = Tensor(w_ih, requires_grad=True), Tensor(w_ho, requires_grad=True)
    h = (W_ih @ x).sigmoid()
    o = (W_ho @ h).sigmoid()
    squared_error(o, t).backward()
    hh = sigmoid(w_ih @ x)
    oo = sigmoid(w_ho @ hh)
    e = t - oo
    np.testing.assert_allclose(W_ho.grad.data, -(e * oo * (1 - oo)) @ hh.T, atol=1e-12, rtol=0)


def test_squared_error_refuses_broadcast():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        squared_error(Tensor(np.ones((4, 1))), np.ones(4))
