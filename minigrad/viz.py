"""Pictures of the recorded graph, for learning and teaching backprop (``mg.viz``).

``draw_graph(loss)`` walks the graph that produced ``loss`` (``loss.grad_fn`` and its edges)
and describes it in Graphviz's DOT language: one box per op (its name and output shape; on
request small values, gradients and gradient norms), one box per leaf (a parameter, named
when ``params`` is given) and per constant input, arrows in the direction data flows
(inputs above, the loss at the bottom; backprop walks the arrows upwards)::

    import minigrad as mg
    loss = model(x).sub(y).pow(2).mean()
    picture = mg.viz.draw_graph(loss, params=dict(model.named_parameters()))
    picture                                   # in Jupyter: drawn inline
    mg.viz.save_png(picture, "graph.png")     # a PNG file, with or without Graphviz

The result is a ``graphviz.Digraph`` when the optional ``graphviz`` package is installed
(``pip install graphviz``; rendering it needs Graphviz's ``dot`` program), otherwise a
``GraphPicture`` holding the same DOT text (``str(picture)``, ``picture.source``).
``save_png`` uses ``dot`` when it is on the PATH and otherwise lays the graph out in layers
with matplotlib, so a picture can be made on a machine with neither.

Gradients are shown for leaves (``.grad``), for non-leaf tensors that called
``retain_grad()``, and for every op when a ``trace`` of the backward is given
(``mg.autograd.trace``). A backward that does not retain the graph frees what nodes saved,
their record of their inputs included: draw after ``backward(retain_graph=True)`` to keep the
intermediate shapes in the picture.

The seed network's picture in docs/images/ is made by
``python scripts/draw_seed_graph.py`` (``python -m minigrad.viz --seed-example PATH``).
"""
import shutil
import subprocess

import numpy as np

from .autograd import graph as _graph
from .autograd.graph import OutputRef
from .ops.nn import LinearActivation

__all__ = ["GraphPicture", "draw_graph", "save_png"]

_SHOW = ("shape", "value", "grad", "norm")
_COLORS = {"op": "#dbe8f6", "param": "#fde9c8", "input": "#eeeeee", "output": "#d7f0d7",
           "module": "#e8dcf5"}


class GraphPicture:
    """The DOT text of a graph picture (what ``draw_graph`` returns without ``graphviz``).

    ``str(picture)`` and ``picture.source`` are the DOT text; ``save_png(path)`` writes a PNG
    (Graphviz's ``dot`` if installed, else matplotlib); in Jupyter it displays as SVG."""

    def __init__(self, source, layout):
        self.source = source
        self.layout = layout  # the boxes and arrows, for the matplotlib renderer

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"GraphPicture({len(self.layout.nodes)} nodes, {len(self.layout.edges)} edges)"

    def save_png(self, path, engine="auto", dpi=150):
        return save_png(self, path, engine=engine, dpi=dpi)

    render_png = save_png

    def _repr_svg_(self):
        return _svg(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/svg+xml": _svg(self), "text/plain": repr(self)}


class _Layout:
    """Boxes (id -> (kind, title, lines, cluster)) and arrows (source, target) of a picture."""

    def __init__(self):
        self.nodes = {}
        self.edges = []
        self.clusters = {}  # cluster name -> label


def _format_array(values, limit):
    values = np.asarray(values)
    if values.size == 0 or values.size > limit:
        return None
    flat = values.reshape(-1)
    if values.dtype.kind in "fc":
        text = ", ".join(f"{v:.4g}" for v in flat.tolist())
    else:
        text = ", ".join(str(v) for v in flat.tolist())
    return f"[{text}]" if values.ndim else text


def _stats_line(name, values, max_values):
    """``name = [..]`` for small arrays, else ``|name| = norm`` (the 2-norm of all entries)."""
    values = np.asarray(values)
    small = _format_array(values, max_values)
    if small is not None:
        return f"{name} = {small}"
    norm = float(np.linalg.norm(values.reshape(-1).astype(np.float64))) if values.size else 0.0
    return f"|{name}| = {norm:.4g}"


def _shape_text(shape):
    return str(tuple(int(s) for s in shape))


def _op_title(node):
    name = node.name()
    for suffix in ("Backward0", "Backward"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _tensor_lines(tensor, show, max_values, grad_values=None):
    lines = []
    data = tensor._data if tensor is not None else None
    if "shape" in show and data is not None:
        lines.append(_shape_text(data.shape) + ("" if data.dtype == np.float32
                                                else f" {data.dtype}"))
    if "value" in show and data is not None:
        small = _format_array(data, max_values)
        if small is not None:
            lines.append(f"value = {small}")
    if "grad" in show or "norm" in show:
        grad = grad_values
        if grad is None and tensor is not None:
            stored = getattr(tensor, "_grad", None)
            grad = None if stored is None else stored._data
        if grad is not None:
            limit = max_values if "grad" in show else 0
            lines.append(_stats_line("grad", grad, limit))
    return lines


def draw_graph(tensor, show=("shape",), params=None, module=None, collapse=False,
               trace=None, max_values=4, rankdir="TB", title=None):
    """A picture of the graph that produced ``tensor``.

    Parameters
    ----------
    tensor : Tensor
        The output (usually a loss); its ``grad_fn`` is the newest op.
    show : tuple of str
        Any of ``'shape'`` (output shapes), ``'value'`` (values of tensors with at most
        ``max_values`` elements), ``'grad'`` (gradients: small ones written out, else their
        2-norm), ``'norm'`` (gradient 2-norms only).
    params : dict, optional
        ``{name: tensor}`` naming leaves and inputs, e.g.
        ``dict(model.named_parameters(), x=x, y=y)``.
    module : Module, optional
        The ops that use a sub-module's own parameters are drawn in one box per sub-module
        (a Graphviz cluster); ``collapse=True`` draws each such box as a single node. (Ops
        are attributed by the parameters they read: a parameter-free module such as
        ``nn.ReLU`` has no box.)
    trace : optional
        A ``mg.autograd.trace`` of a backward through this graph: each op shows the norm of
        the gradient it received.
    rankdir : str
        Graphviz's direction, ``'TB'`` (inputs on top) or ``'LR'``.

    Returns
    -------
    graphviz.Digraph or GraphPicture
        A ``graphviz.Digraph`` when ``graphviz`` is importable, else a ``GraphPicture``.
    """
    if isinstance(show, str):
        show = (show,)
    unknown = [s for s in show if s not in _SHOW]
    if unknown:
        raise ValueError(f"show: unknown item(s) {unknown}; choose from {list(_SHOW)}")
    Tensor = _graph.tensor_type()
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph expects a Tensor, got {type(tensor).__name__}")
    names = {id(t): name for name, t in (params or {}).items()}
    owners = _module_owners(module) if module is not None else {}
    trace_grads = _trace_grads(trace)
    layout = _walk(tensor, show, names, owners, trace_grads, max_values)
    if collapse and layout.clusters:
        layout = _collapse(layout, module)
    source = _to_dot(layout, rankdir, title)
    try:
        import graphviz
    except ImportError:
        return GraphPicture(source, layout)
    picture = graphviz.Digraph(name="minigrad")
    picture.body = source.splitlines(keepends=True)[1:-1]
    picture.layout = layout
    return picture


def _module_owners(module):
    """id(parameter) -> (cluster name, label) for each sub-module that owns parameters."""
    owners = {}
    for name, sub in module.named_modules():
        own = list(sub.named_parameters(recurse=False))
        if not own:
            continue
        label = f"{name or type(module).__name__}: {type(sub).__name__}"
        for _, p in own:
            owners[id(p)] = (name or "self", label)
    return owners


def _trace_grads(trace):
    if trace is None:
        return {}
    return {id(record.node): record for record in trace.records if record.node is not None}


def _walk(root, show, names, owners, trace_grads, max_values):
    """Walk the graph from ``root`` (no recursion: deep graphs are fine)."""
    Tensor = _graph.tensor_type()
    layout = _Layout()
    nodes = layout.nodes
    root_id = "out"
    root_name = names.get(id(root), "output")
    if root._grad_fn is None:
        kind = "param" if root._requires_grad else "input"
        nodes[root_id] = (kind, root_name, _tensor_lines(root, show, max_values), None)
        return layout
    seen = {}
    order = []
    other_ids = {}  # leaves and inputs: numbered in the order met, so the DOT text is stable

    def other_id(prefix, t):
        key = (prefix, id(t))
        if key not in other_ids:
            other_ids[key] = f"{prefix}{sum(1 for k in other_ids if k[0] == prefix)}"
        return other_ids[key]

    def node_id(node):
        key = id(node)
        if key not in seen:
            seen[key] = f"op{len(seen)}"
            order.append(node)
        return seen[key]

    first = root._grad_fn
    first_node = first[0] if type(first) is OutputRef else first
    node_id(first_node)
    outputs = {id(first_node): root}  # an op's output tensor, where one is known
    stack = [first_node]
    pending_edges = []
    cluster_of = {}
    while stack:
        node = stack.pop()
        nid = seen[id(node)]
        inputs = node._inputs if node._inputs is not None else ()
        for i, edge in enumerate(node._edges):
            inp = inputs[i] if i < len(inputs) else None
            if isinstance(edge, Tensor):  # a leaf that requires grad
                lid = other_id("leaf", edge)
                if lid not in nodes:
                    name = names.get(id(edge), "leaf")
                    owner = owners.get(id(edge))
                    nodes[lid] = ("param", name, _tensor_lines(edge, show, max_values),
                                  owner[0] if owner else None)
                    if owner:
                        layout.clusters[owner[0]] = owner[1]
                        cluster_of.setdefault(id(node), owner[0])
                pending_edges.append((lid, nid))
            elif edge is None:
                if isinstance(inp, Tensor) and id(inp) in names:  # a named constant input
                    cid = other_id("in", inp)
                    if cid not in nodes:
                        nodes[cid] = ("input", names[id(inp)],
                                      _tensor_lines(inp, show, max_values), None)
                    pending_edges.append((cid, nid))
            else:
                child = edge[0] if type(edge) is OutputRef else edge
                is_new = id(child) not in seen
                cid = node_id(child)
                if isinstance(inp, Tensor):
                    outputs.setdefault(id(child), inp)
                pending_edges.append((cid, nid))
                if is_new:
                    stack.append(child)
    for node in order:
        nid = seen[id(node)]
        out = outputs.get(id(node))
        record = trace_grads.get(id(node))
        grad_values = None
        if record is not None and record.grad_in is not None:
            grad_values = record.grad_in
            if isinstance(grad_values, list):  # several outputs: all their gradients, as one
                parts = [np.ravel(g) for g in grad_values if g is not None]
                grad_values = np.concatenate(parts) if parts else None
        lines = _tensor_lines(out, show, max_values, grad_values)
        if out is None and record is not None and "shape" in show and record.out_shapes:
            lines.insert(0, _shape_text(record.out_shapes[0]))
        title = _op_title(node)
        kind = "output" if node is first_node else "op"
        fused = isinstance(node, LinearActivation)
        if fused:
            # nn.Sequential's fused Linear + activation node: drawn as the two steps it
            # computes (Linear inside its module's box, then the activation), as in a textbook
            # and in PyTorch's graph. Edges out of the node leave from the activation.
            aid = nid + "_act"
            pending_edges = [(aid if src == nid else src, dst) for src, dst in pending_edges]
            pending_edges.append((nid, aid))
            shape_lines = [_shape_text(out.shape)] if out is not None and "shape" in show else []
            nodes[nid] = ("op", "Linear", shape_lines, cluster_of.get(id(node)))
            nid, title = aid, _FUSED_ACTIVATION_TITLES[node.activation]
        if kind == "output":
            title += f" -> {root_name}"
        nodes[nid] = (kind, title, lines, None if fused else cluster_of.get(id(node)))
    # edges in a stable order: by target's creation, then source
    layout.edges = list(dict.fromkeys(pending_edges))
    return layout


_FUSED_ACTIVATION_TITLES = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _collapse(layout, module):
    """One node per cluster: the module's name and type, its parameters' shapes."""
    merged = _Layout()
    mapping = {}
    for nid, (kind, title, lines, cluster) in layout.nodes.items():
        if cluster is None:
            merged.nodes[nid] = (kind, title, lines, None)
            mapping[nid] = nid
            continue
        cid = f"module_{cluster}"
        mapping[nid] = cid
        if cid not in merged.nodes:
            merged.nodes[cid] = ("module", layout.clusters[cluster], [], None)
        if kind == "param":
            merged.nodes[cid][2].append(f"{title} {lines[0] if lines else ''}".strip())
        elif kind == "output":  # the last op inside a module stays marked as the output
            merged.nodes[cid] = ("output",) + merged.nodes[cid][1:]
    seen = set()
    for src, dst in layout.edges:
        a, b = mapping[src], mapping[dst]
        if a != b and (a, b) not in seen:
            seen.add((a, b))
            merged.edges.append((a, b))
    return merged


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _to_dot(layout, rankdir, title):
    lines = ["digraph minigrad {"]
    lines.append(f"\trankdir={rankdir} nodesep=0.3 ranksep=0.35")
    if title:
        lines.append(f"\tlabel={_quote(title)} labelloc=t fontsize=16")
    lines.append('\tnode [shape=box style="rounded,filled" fontname=Helvetica fontsize=11 '
                 'margin="0.12,0.05"]')
    lines.append("\tedge [arrowsize=0.7]")
    by_cluster = {}
    for nid, (kind, node_title, text_lines, cluster) in layout.nodes.items():
        label = "\\n".join([node_title.replace('"', "'")] + [t.replace('"', "'")
                                                             for t in text_lines])
        shape = " shape=ellipse" if kind == "input" else ""
        style = ' style="rounded,filled,bold"' if kind == "output" else ""
        line = f'\t{nid} [label="{label}" fillcolor="{_COLORS[kind]}"{shape}{style}]'
        by_cluster.setdefault(cluster, []).append(line)
    lines.extend(by_cluster.pop(None, []))
    for cluster, node_lines in by_cluster.items():
        safe = "".join(c if c.isalnum() else "_" for c in cluster)
        lines.append(f"\tsubgraph cluster_{safe} {{")
        lines.append(f'\t\tlabel={_quote(layout.clusters[cluster])} style="rounded,dashed" '
                     "color=gray40 fontname=Helvetica fontsize=11")
        lines.extend("\t" + line for line in node_lines)
        lines.append("\t}")
    for src, dst in layout.edges:
        lines.append(f"\t{src} -> {dst}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- rendering --------------------------------------------------------------------------------

def _dot_program():
    return shutil.which("dot")


def _svg(picture):
    dot = _dot_program()
    if dot is not None:
        return subprocess.run([dot, "-Tsvg"], input=picture.source.encode(), check=True,
                              capture_output=True).stdout.decode()
    import io
    buffer = io.StringIO()
    _matplotlib_render(picture.layout, buffer, fmt="svg", dpi=100)
    return buffer.getvalue()


def save_png(picture, path, engine="auto", dpi=150):
    """Write ``picture`` (from ``draw_graph``) as a PNG file and return ``path``.

    engine: ``'dot'`` (Graphviz's program), ``'matplotlib'`` (a layered layout drawn with
    matplotlib, no Graphviz needed), or ``'auto'`` (dot when on the PATH)."""
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    dot = _dot_program()
    if engine == "dot" and dot is None:
        raise RuntimeError("Graphviz's 'dot' program is not on the PATH (apt-get install "
                           "graphviz); use engine='matplotlib'")
    if engine != "matplotlib" and dot is not None:
        png = subprocess.run([dot, "-Tpng", f"-Gdpi={dpi}"], input=picture.source.encode(),
                             check=True, capture_output=True).stdout
        with open(path, "wb") as f:
            f.write(png)
        return path
    _matplotlib_render(picture.layout, path, fmt="png", dpi=dpi)
    return path


def _layers(layout):
    """Longest-path layering (sources on top), then each layer ordered by the mean position
    of its parents, which keeps most arrows from crossing in small graphs."""
    parents = {nid: [] for nid in layout.nodes}
    for src, dst in layout.edges:
        parents[dst].append(src)
    depth = {}
    for nid in layout.nodes:  # iterative longest path from a source
        stack = [(nid, False)]
        while stack:
            current, done = stack.pop()
            if current in depth:
                continue
            if done:
                depth[current] = 1 + max((depth[p] for p in parents[current]), default=-1)
                continue
            stack.append((current, True))
            stack.extend((p, False) for p in parents[current] if p not in depth)
    children = {nid: [] for nid in layout.nodes}
    for src, dst in layout.edges:
        children[src].append(dst)
    for nid in layout.nodes:  # a leaf or input sits just above its first consumer
        if not parents[nid] and children[nid]:
            depth[nid] = min(depth[c] for c in children[nid]) - 1
    layers = {}
    for nid, d in depth.items():
        layers.setdefault(d, []).append(nid)
    position = {}
    ordered = []
    for d in sorted(layers):
        row = layers[d]
        row.sort(key=lambda n: np.mean([position[p] for p in parents[n]]) if parents[n]
                 else len(position))
        for i, nid in enumerate(row):
            position[nid] = i - (len(row) - 1) / 2
        ordered.append(row)
    return ordered, position


def _matplotlib_render(layout, target, fmt, dpi):
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf"):
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    rows, position = _layers(layout)
    width = max(len(row) for row in rows)
    col_w, row_h = 2.6, 1.25
    fig_w, fig_h = max(4.0, width * col_w), max(2.0, len(rows) * row_h)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    centers = {}
    for r, row in enumerate(rows):
        for nid in row:
            centers[nid] = (position[nid] * col_w, -r * row_h)
    for src, dst in layout.edges:
        (x0, y0), (x1, y1) = centers[src], centers[dst]
        ax.annotate("", xy=(x1, y1 + 0.32), xytext=(x0, y0 - 0.32),
                    arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.0})
    for nid, (kind, title, lines, _cluster) in layout.nodes.items():
        x, y = centers[nid]
        text = "\n".join([title] + lines)
        box_w = min(col_w * 0.92, 0.12 + 0.075 * max(len(t) for t in [title] + lines))
        box_h = 0.2 + 0.16 * (1 + len(lines))
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", fc=_COLORS[kind],
                                    ec="0.2", lw=1.6 if kind == "output" else 0.8))
        ax.text(x, y, text, ha="center", va="center", fontsize=8, family="sans-serif")
    xs = [c[0] for c in centers.values()]
    ys = [c[1] for c in centers.values()]
    ax.set_xlim(min(xs) - col_w / 2, max(xs) + col_w / 2)
    ax.set_ylim(min(ys) - row_h / 2, max(ys) + row_h / 2)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(target, format=fmt, dpi=dpi)
    plt.close(fig)


# ---- the seed network's picture ---------------------------------------------------------------

def seed_example_picture(show=("shape", "value", "norm"), n=100):
    """The seed network of examples/two_layer_regression.py (Linear(2, 10) -> ReLU ->
    Linear(10, 1), MSE on y = 2 x1 + 3 x2 + U(0, 1), seed 0), after one backward."""
    import minigrad as mg
    import minigrad.nn.functional as F
    from minigrad import nn

    mg.manual_seed(0)
    x1, x2, noise = mg.rand(n, 1), mg.rand(n, 1), mg.rand(n, 1)
    y = 2 * x1 + 3 * x2 + noise
    x = mg.cat((x1, x2), dim=1)
    model = nn.Sequential()
    model.add_module("layer1", nn.Linear(2, 10))
    model.add_module("relu", nn.ReLU())
    model.add_module("layer2", nn.Linear(10, 1))
    loss = F.mse_loss(model(x), y)
    from .autograd.trace import trace
    with trace() as backward_trace:  # the gradient reaching each op, for its box
        loss.backward(retain_graph=True)
    names = dict(model.named_parameters(), x=x, y=y)
    names["loss"] = loss
    return draw_graph(loss, show=show, params=names, module=model, trace=backward_trace,
                      title="the seed network after loss.backward()\n"
                            "|grad| = norm of dL/d(that value)")


def main(argv=None):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m minigrad.viz", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("--seed-example", metavar="PNG", required=True,
                        help="write the seed network's graph picture to this PNG file")
    parser.add_argument("--engine", default="auto", choices=("auto", "dot", "matplotlib"))
    args = parser.parse_args(argv)
    picture = seed_example_picture()
    save_png(picture, args.seed_example, engine=args.engine)
    print(f"wrote {args.seed_example}")


if __name__ == "__main__":
    main()
