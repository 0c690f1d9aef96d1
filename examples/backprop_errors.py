"""Sending the error back: split by each link's share of the weight, or simply Wᵀ·e.

The text first splits each output error among the links in proportion to their weights,
then drops the normalising denominators to get the matrix form hidden_errors = Wᵀ·e.
Both are hand rules: the exact gradient also multiplies by the output sigmoid's slope
o·(1−o). This script prints all three for one small network.

Run: python examples/backprop_errors.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn.nn.functional import squared_error

w_ho = np.array([[2.0, 3.0], [1.0, 4.0]])   # output × hidden, as in the text's figure
e = np.array([0.8, 0.5])                     # output errors

share = (w_ho / w_ho.sum(axis=1, keepdims=True)).T @ e  # split by weight share
simple = w_ho.T @ e                                     # the Wᵀ·e simplification
print("hidden errors, split by weight share:", share.round(4))
print("hidden errors, Wᵀ·e                  :", simple.round(4),
      "(no denominators: here every row of W sums to 5, so only the scale differs)")

# the exact gradient with autograd, for an output o with the same errors e = t − o
h = tg.Tensor([0.6, 0.4], requires_grad=True, dtype="float64")
o = (tg.Tensor(w_ho) @ h).sigmoid()
t = o.data + e
squared_error(o, t).backward()
slope = o.data * (1 - o.data)
print("exact −∂E/∂h (autograd)             :", (-h.grad.data).round(4))
print("   = Wᵀ·(e·o·(1−o))                 :", (w_ho.T @ (e * slope)).round(4))
print(f"output slopes o·(1−o) = {slope.round(4)}: the hand rule's hidden errors are "
      f"{np.linalg.norm(simple) / np.linalg.norm(h.grad.data):.1f}× the true gradient here")
