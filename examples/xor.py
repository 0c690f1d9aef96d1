"""XOR: one dividing line cannot do it; two layers of sigmoid neurons can.

Run: python examples/xor.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn.functional import squared_error

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def train(model: nn.Module) -> np.ndarray:
    opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(2000):
        loss = squared_error(model(tg.Tensor(X)), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model(tg.Tensor(X)).data


tg.manual_seed(1)
one_line = train(nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.Sigmoid()))
two_layers = train(nn.Sequential(nn.Linear(2, 4, dtype=np.float64), nn.Sigmoid(),
                                 nn.Linear(4, 1, dtype=np.float64), nn.Sigmoid()))
print("inputs   target  one line   two layers")
for x, t, a, b in zip(X, Y[:, 0], one_line[:, 0], two_layers[:, 0]):
    print(f"{x.astype(int)}   {t:.0f}       {a:.3f}      {b:.3f}")
print(f"one line right on {int(((one_line > 0.5) == Y).sum())}/4, "
      f"two layers right on {int(((two_layers > 0.5) == Y).sum())}/4")
