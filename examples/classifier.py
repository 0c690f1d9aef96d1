"""A linear classifier learned by gradient descent: separate ladybirds from caterpillars.

One Linear layer and a sigmoid draw one dividing line through (width, length) space.
Run: python examples/classifier.py
"""

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.nn.functional import squared_error

tg.manual_seed(0)
rng = np.random.default_rng(0)
ladybirds = rng.normal([3.0, 1.0], 0.3, (20, 2))      # wide and short
caterpillars = rng.normal([1.0, 3.0], 0.3, (20, 2))   # narrow and long
X = np.vstack([ladybirds, caterpillars])
y = np.vstack([np.full((20, 1), 0.99), np.full((20, 1), 0.01)])  # 0.99 = ladybird

model = nn.Sequential(nn.Linear(2, 1, dtype=np.float64), nn.Sigmoid())
opt = optim.SGD(model.parameters(), lr=0.1)
for epoch in range(60):
    loss = squared_error(model(tg.Tensor(X)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 20 == 0 or epoch == 59:
        acc = ((model(tg.Tensor(X)).data > 0.5) == (y > 0.5)).mean()
        print(f"epoch {epoch:2d}  error {loss.item():7.4f}  accuracy {acc:.2f}")

w, b = model[0].weight.data[0], model[0].bias.data[0]
print(f"dividing line: {w[0]:.2f}·width + {w[1]:.2f}·length + {b:.2f} = 0")
