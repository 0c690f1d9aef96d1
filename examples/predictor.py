"""The text's first idea: a predictor refined by its error, then moderated.

1. Kilometres to miles, miles = c·km, with c refined by nudging it against the error.
2. The bug classifier's line y = A·x: the update ΔA = E/x makes the line fit the last
   sample exactly and forget the earlier one; moderating it, ΔA = L·(E/x), keeps both.
3. The same update with autograd: E as a tensor, and the slope ∂(½E²)/∂A = −E·x.

Run: python examples/predictor.py
"""

import tinygrad_nn as tg

print("1. kilometres -> miles, miles = c * km (true c = 0.621371)")
c = 0.5
for _ in range(4):
    error = 62.137 - c * 100.0            # E = target − prediction
    print(f"   c = {c:.4f}  predicts {c * 100:.2f} miles for 100 km, error {error:+.3f}")
    c += 0.5 * error / 100.0               # move c part of the way that removes the error

samples = [(3.0, 1.1, "ladybird"), (1.0, 2.9, "caterpillar")]  # (width x, target y, bug)


def run(rate: float) -> float:
    A = 0.25
    for x, t, bug in samples:
        E = t - A * x
        A += rate * E / x                  # ΔA = L·(E/x)
        print(f"   after the {bug:<11} A = {A:.4f}   line at x=3: {A * 3:.3f}, at x=1: {A:.3f}")
    return A


print("\n2. unmoderated, ΔA = E/x: each sample overwrites the last")
A1 = run(1.0)
print(f"   the line fits only the last target (1, 2.9); at the ladybird's target x=3 it is "
      f"{A1 * 3:.1f}, not 1.1: the first sample was forgotten")
print("   moderated, ΔA = L·(E/x) with L = 0.5: each sample only moves the line part way")
A2 = run(0.5)
print(f"   ladybird below the line: {1.0 < A2 * 3}, caterpillar above it: {3.0 > A2 * 1}")

print("\n3. the same step with autograd")
A = tg.Tensor(0.25, requires_grad=True, dtype="float64")
x, t = 3.0, 1.1
E = t - A * x
(0.5 * E * E).backward()                   # ½E², so the slope is −E·x
print(f"   E = {E.item():.4f}; autograd dE/dA = {A.grad.item():.4f} = −E·x = {-E.item() * x:.4f}")
print(f"   the text's step ΔA = L·E/x = {0.5 * E.item() / x:.4f}; gradient descent's "
      f"−L·dE/dA = {-0.5 * A.grad.item():.4f} (same direction, different size)")
