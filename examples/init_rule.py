"""The text's weight-init rule versus all-equal and all-zero weights.

Weights ~ normal(0, 1/√(incoming links)) keep every node different and unsaturated.
All-equal weights make every hidden node identical forever (they get identical errors);
all-zero weights also send back zero hidden errors, so the first layer never moves.

Run: python examples/init_rule.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn import init
from tinygrad_nn.nn.functional import squared_error

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)


def run(name: str, rule) -> None:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3, bias=False, dtype=np.float64), nn.Sigmoid(),
                          nn.Linear(3, 1, bias=False, dtype=np.float64), nn.Sigmoid())
    for p in model.parameters():
        rule(p)
    opt = optim.SGD(model.parameters(), lr=1.0)
    for _ in range(300):
        loss = squared_error(model(tg.Tensor(X)), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = model[0].weight.data
    distinct = len({tuple(row) for row in w.round(6)})
    print(f"{name:<22} error {loss.item():.4f}   distinct hidden nodes {distinct}/3   "
          f"first-layer weights moved: {bool(np.abs(w).max() > 1e-9)}")


run("text's rule", init.book_normal_)
run("all equal (0.5)", lambda p: init.constant_(p, 0.5))
run("all zero", init.zeros_)
