"""Render the computation graph of the text's 3-layer network (784-100-10, sigmoid, no
biases, squared error) for one sample: weights in blue, data in grey, ops in yellow,
the loss in red, each layer in its own box.

Run: python examples/draw_network.py [OUT.png]
"""

import sys

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn
from tinygrad_nn.nn.functional import squared_error
from tinygrad_nn.viz import DotNotFoundError

out = sys.argv[1] if len(sys.argv) > 1 else "text_network.png"
tg.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 100, bias=False), nn.Sigmoid(),
                      nn.Linear(100, 10, bias=False), nn.Sigmoid())
image = tg.Tensor(np.random.default_rng(0).uniform(0.01, 1.0, (1, 784)).astype("float32"))
target = np.full((1, 10), 0.01, dtype=np.float32)
target[0, 3] = 0.99                                                       # "a 3"
target = tg.Tensor(target)

loss = squared_error(model(image), target)
loss.backward()  # the drawing still works after backward, and shows ‖grad‖
try:
    loss.draw(out, model=model, params={"image": image, "target": target})
    print(f"wrote {out}")
except DotNotFoundError as e:
    dot_path = out.rsplit(".", 1)[0] + ".dot"
    loss.draw(dot_path, model=model, params={"image": image, "target": target})
    print(f"{e}\nwrote {dot_path} instead")
print(f"loss {loss.item():.4f}; parameters: "
      + ", ".join(f"{n} {tuple(p.shape)}" for n, p in model.named_parameters()))
