"""A 15-line tour: Tensor -> backward -> the text's closed-form gradient, checked.

Run: python examples/tour.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn.nn.functional import squared_error

x = tg.Tensor([[0.9, 0.1, 0.8]])                      # one sample, three inputs
W = tg.Tensor(np.full((2, 3), 0.5), requires_grad=True)  # 3 inputs -> 2 outputs
o = (x @ W.T).sigmoid()                               # the text's O = σ(W·I)
t = np.array([[0.99, 0.01]])                          # target
E = squared_error(o, t)                               # ½·Σ(t − o)²
E.backward()

e = t - o.data
closed_form = -(e * o.data * (1 - o.data)).T @ x.data  # −e·σ(1−σ)·x, from the text
print("output o        ", o.data.round(4))
print("error E         ", round(E.item(), 6))
print("autograd dE/dW  ", W.grad.data.round(6).tolist())
print("text's formula  ", closed_form.round(6).tolist())
print("max difference  ", float(np.abs(W.grad.data - closed_form).max()))
