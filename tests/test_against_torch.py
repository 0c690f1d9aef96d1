"""Forward and gradients against PyTorch, when it is installed (skipped otherwise)."""

import numpy as np
import pytest

from tinygrad_nn import Tensor
from tinygrad_nn.nn import functional as F

torch = pytest.importorskip("torch")

CASES = {
    "add_bcast": (lambda a, b: a + b, [(2, 3), (3,)]),
    "sub_bcast": (lambda a, b: a - b, [(2, 1, 3), (4, 1)]),
    "mul": (lambda a, b: a * b, [(2, 3), (2, 3)]),
    "div": (lambda a, b: a / (b * b + 1), [(3, 1), (1, 4)]),
    "pow": (lambda a, b: (a * a + 1) ** 1.5 + b, [(3,), (3,)]),
    "matmul_1d_2d": (lambda a, b: a @ b, [(3,), (3, 4)]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    "matmul_2d_1d": (lambda a, b: a @ b, [(2, 3), (3,)]),
    "sum_axis": (lambda a, b: (a * b).sum(axis=1), [(2, 3), (2, 3)]),
    "mean_keep": (lambda a, b: (a + b).mean(axis=0, keepdims=True), [(4, 3), (3,)]),
    "amax": (lambda a, b: (a * b).amax(axis=1), [(3, 5), (3, 5)]),
    "exp_log": (lambda a, b: (a.exp() + 1).log() * b, [(3,), (3,)]),
    "sigmoid_tanh_relu": (lambda a, b: a.sigmoid() + b.tanh() + (a - b).relu(), [(4,), (4,)]),
    "softmax": (lambda a, b: a.softmax(axis=-1) * b, [(2, 5), (2, 5)]),
    "log_softmax0": (lambda a, b: a.log_softmax(axis=0) * b, [(3, 4), (3, 4)]),
    "reshape_T": (lambda a, b: a.reshape(3, 2).T * b, [(2, 3), (2, 3)]),
    "transpose": (lambda a, b: a.transpose(2, 0, 1) * b, [(2, 3, 4), (4, 2, 3)]),
    "index": (lambda a, b: a[[0, 0, 1], 1:] * b, [(2, 4), (3, 3)]),
    "neg_rsub": (lambda a, b: 1 - (-a) * b, [(3,), (3,)]),
}


def run(lib, fn, arrays, dtype):
    if lib == "torch":
        ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = fn(*[_TorchShim(t) for t in ts]).t
    else:
        ts = [Tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = fn(*ts)
    w = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(dtype)
    out.backward(torch.tensor(w) if lib == "torch" else w)
    to_np = (lambda x: x.detach().numpy()) if lib == "torch" else (lambda x: x.data)
    return to_np(out), [to_np(t.grad) for t in ts]


class _TorchShim:
    """Gives torch tensors this project's method names (axis=, keepdims=, amax)."""

    def __init__(self, t):
        self.t = t

    def _w(self, v):
        return v.t if isinstance(v, _TorchShim) else v

    def __add__(self, o): return _TorchShim(self.t + self._w(o))  # noqa: E704
    def __radd__(self, o): return _TorchShim(self._w(o) + self.t)  # noqa: E704
    def __sub__(self, o): return _TorchShim(self.t - self._w(o))  # noqa: E704
    def __rsub__(self, o): return _TorchShim(self._w(o) - self.t)  # noqa: E704
    def __mul__(self, o): return _TorchShim(self.t * self._w(o))  # noqa: E704
    def __truediv__(self, o): return _TorchShim(self.t / self._w(o))  # noqa: E704
    def __pow__(self, o): return _TorchShim(self.t ** self._w(o))  # noqa: E704
    def __matmul__(self, o): return _TorchShim(self.t @ self._w(o))  # noqa: E704
    def __neg__(self): return _TorchShim(-self.t)  # noqa: E704
    def __getitem__(self, i): return _TorchShim(self.t[i])  # noqa: E704
    @property
    def T(self): return _TorchShim(self.t.T)  # noqa: E704,N802
    def sum(self, axis=None, keepdims=False):
        return _TorchShim(self.t.sum() if axis is None else self.t.sum(axis, keepdim=keepdims))
    def mean(self, axis=None, keepdims=False):
        return _TorchShim(self.t.mean() if axis is None else self.t.mean(axis, keepdim=keepdims))
    def amax(self, axis=None, keepdims=False):
        return _TorchShim(self.t.amax() if axis is None else self.t.amax(axis, keepdim=keepdims))
    def exp(self): return _TorchShim(self.t.exp())  # noqa: E704
    def log(self): return _TorchShim(self.t.log())  # noqa: E704
    def sigmoid(self): return _TorchShim(self.t.sigmoid())  # noqa: E704
    def tanh(self): return _TorchShim(self.t.tanh())  # noqa: E704
    def relu(self): return _TorchShim(self.t.relu())  # noqa: E704
    def softmax(self, axis=-1): return _TorchShim(self.t.softmax(axis))  # noqa: E704
    def log_softmax(self, axis=-1): return _TorchShim(self.t.log_softmax(axis))  # noqa: E704
    def reshape(self, *s): return _TorchShim(self.t.reshape(*s))  # noqa: E704
    def transpose(self, *ax): return _TorchShim(self.t.permute(*ax))  # noqa: E704


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype, tol):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 1000)
    arrays = [rng.normal(size=s) for s in shapes]
    out_t, grads_t = run("torch", fn, arrays, dtype)
    out, grads = run("ours", fn, arrays, dtype)
    assert out.dtype == dtype and out.shape == out_t.shape
    np.testing.assert_allclose(out, out_t, rtol=tol, atol=tol)
    for g, gt in zip(grads, grads_t):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, gt, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    tl = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(tl, torch.tensor(y), reduction=reduction).sum().backward()
    ol = Tensor(logits, requires_grad=True)
    F.cross_entropy(ol, y, reduction=reduction).sum().backward()
    np.testing.assert_allclose(ol.grad.data, tl.grad.numpy(), atol=1e-12)
    o, t = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    to = torch.tensor(o, requires_grad=True)
    torch.nn.functional.mse_loss(to, torch.tensor(t), reduction=reduction).sum().backward()
    oo = Tensor(o, requires_grad=True)
    F.mse_loss(oo, t, reduction=reduction).sum().backward()
    np.testing.assert_allclose(oo.grad.data, to.grad.numpy(), atol=1e-12)
