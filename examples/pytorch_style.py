"""The bundled digits trained the way a PyTorch user writes it: Dataset and DataLoader,
CrossEntropyLoss, Adam, a learning-rate schedule, a checkpoint, and resuming from it.

A run that stops after 6 epochs, saves, and is resumed in fresh objects for 6 more ends
with exactly the weights of a run of 12 epochs straight.

Run: python examples/pytorch_style.py
"""

import os
import tempfile

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import nn, optim
from tinygrad_nn.data import load_digits
from tinygrad_nn.optim.lr_scheduler import StepLR
from tinygrad_nn.utils.data import DataLoader, TensorDataset, random_split

tg.manual_seed(0)
X_train, y_train, X_test, y_test = load_digits()  # 8x8 images as rows of 64 in [0, 1]
train_set, val_set = random_split(TensorDataset(tg.tensor(X_train), tg.tensor(y_train)),
                                  [0.9, 0.1])
X_val, y_val = X_train[val_set.indices], y_train[val_set.indices]  # Subsets hold indices


def make_run(seed: int = 0) -> tuple:
    """Model, optimizer, schedule, and a data loader shuffled by its own generator."""
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = StepLR(opt, step_size=4, gamma=0.5)
    gen = np.random.default_rng(seed)
    loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=gen)
    return model, opt, sched, loader, gen


loss_fn = nn.CrossEntropyLoss()


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with tg.no_grad():
        pred = model(tg.tensor(X)).argmax(dim=1)
    model.train()
    return (pred == tg.tensor(y)).float().mean().item()


def train(run: tuple, epochs: range) -> None:
    model, opt, sched, loader, _ = run
    for epoch in epochs:
        total = 0.0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        sched.step()
        print(f"epoch {epoch + 1:2d}  loss {total / len(train_set):.4f}  "
              f"lr {sched.get_last_lr()[0]:.5f}  val accuracy {accuracy(model, X_val, y_val):.3f}")


print("12 epochs straight:")
straight = make_run()
train(straight, range(12))

print("6 epochs, a checkpoint, then 6 more in fresh objects:")
first = make_run()
train(first, range(6))
model, opt, sched, _, gen = first
path = os.path.join(tempfile.mkdtemp(), "checkpoint.npz")
tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
         "scheduler": sched.state_dict(), "shuffle": gen.bit_generator.state, "epoch": 6},
        path)

resumed = make_run(seed=1)  # other weights, other shuffling: the checkpoint replaces them
model, opt, sched, _, gen = resumed
ck = tg.load(path)
model.load_state_dict(ck["model"])
opt.load_state_dict(ck["optimizer"])
sched.load_state_dict(ck["scheduler"])
gen.bit_generator.state = ck["shuffle"]
print(f"resumed from {os.path.basename(path)} after epoch {ck['epoch']}")
train(resumed, range(ck["epoch"], 12))

same = all(np.array_equal(a.data, b.data)
           for a, b in zip(straight[0].parameters(), resumed[0].parameters()))
print(f"weights identical to the uninterrupted run: {same}")
print(f"test accuracy: {accuracy(resumed[0], X_test, y_test):.4f}")
