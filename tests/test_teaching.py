"""The teaching tools of issue 14: graph pictures (mg.viz), the backward trace, compare,
optimizer.describe() and the tutorials in docs/tutorials/."""
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import child_env

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.autograd import engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIALS = os.path.join(ROOT, "docs", "tutorials")


# ---- graph pictures --------------------------------------------------------------------------

def _dot_nodes_edges(source):
    """{node id: label} and [(source id, target id)] read from DOT text."""
    nodes = dict(re.findall(r'^\s*(\w+) \[label="([^"]*)"', source, re.MULTILINE))
    edges = re.findall(r"^\s*(\w+) -> (\w+)", source, re.MULTILINE)
    return nodes, edges


def _source(picture):
    return picture.source


@pytest.fixture
def no_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError


def _small_graph():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, -4.0], requires_grad=True)
    c = a * b
    d = c.sum()
    return a, b, c, d


def test_dot_of_a_known_graph_has_its_nodes_edges_and_labels(no_graphviz):
    a, b, _, d = _small_graph()
    picture = mg.viz.draw_graph(d, show=("shape", "value"), params={"a": a, "b": b})
    assert isinstance(picture, mg.viz.GraphPicture)
    assert str(picture) == picture.source
    nodes, edges = _dot_nodes_edges(picture.source)
    labels = {label.split("\\n")[0]: nid for nid, label in nodes.items()}
    assert set(labels) == {"Sum -> output", "Mul", "a", "b"}
    expected = {(labels["Mul"], labels["Sum -> output"]), (labels["a"], labels["Mul"]),
                (labels["b"], labels["Mul"])}
    assert set(edges) == expected and len(edges) == 3
    assert nodes[labels["Mul"]] == "Mul\\n(2,)\\nvalue = [3, -8]"
    assert nodes[labels["a"]] == "a\\n(2,)\\nvalue = [1, 2]"
    assert nodes[labels["Sum -> output"]] == "Sum -> output\\n()\\nvalue = -5"


def test_dot_shows_gradients_after_backward(no_graphviz):
    a, b, c, d = _small_graph()
    c.retain_grad()
    d.backward(retain_graph=True)
    picture = mg.viz.draw_graph(d, show=("grad",), params={"a": a, "b": b})
    nodes, _ = _dot_nodes_edges(picture.source)
    by_title = {label.split("\\n")[0]: label for label in nodes.values()}
    assert by_title["a"] == "a\\ngrad = [3, -4]"       # d(sum a*b)/da = b
    assert by_title["b"] == "b\\ngrad = [1, 2]"
    assert by_title["Mul"] == "Mul\\ngrad = [1, 1]"     # retained: d sum / d c = 1
    # Norms only, for big tensors or on request: |b| = 5
    picture = mg.viz.draw_graph(d, show=("norm",), params={"a": a, "b": b})
    nodes, _ = _dot_nodes_edges(picture.source)
    assert "a\\n|grad| = 5" in nodes.values()


def test_draw_graph_returns_a_digraph_when_graphviz_is_installed():
    graphviz = pytest.importorskip("graphviz")
    _, _, _, d = _small_graph()
    picture = mg.viz.draw_graph(d)
    assert isinstance(picture, graphviz.Digraph)
    nodes, edges = _dot_nodes_edges(picture.source)
    assert len(nodes) == 4 and len(edges) == 3
    assert hasattr(picture, "_repr_mimebundle_")


def _seed_model():
    mg.manual_seed(0)
    model = nn.Sequential()
    model.add_module("layer1", nn.Linear(2, 10))
    model.add_module("relu", nn.ReLU())
    model.add_module("layer2", nn.Linear(10, 1))
    x, y = mg.rand(8, 2), mg.rand(8, 1)
    return model, x, y


def test_modules_become_clusters_or_single_boxes(no_graphviz):
    model, x, y = _seed_model()
    loss = F.mse_loss(model(x), y)
    names = dict(model.named_parameters(), x=x, y=y)
    source = mg.viz.draw_graph(loss, params=names, module=model).source
    clusters = re.findall(r"subgraph cluster_(\w+) \{(.*?)\n\t\}", source, re.DOTALL)
    assert sorted(name for name, _ in clusters) == ["layer1", "layer2"]
    body = dict(clusters)
    assert "layer1.weight" in body["layer1"] and "layer1.bias" in body["layer1"]
    assert "Linear\\n(8, 10)" in body["layer1"] and "layer2.weight" not in body["layer1"]
    nodes, edges = _dot_nodes_edges(source)
    assert len(nodes) == 10 and len(edges) == 9  # 4 ops, 4 parameters, x and y

    collapsed = mg.viz.draw_graph(loss, params=names, module=model, collapse=True).source
    nodes, edges = _dot_nodes_edges(collapsed)
    titles = sorted(label.split("\\n")[0] for label in nodes.values())
    assert titles == ["MSEFused -> output", "ReLU", "layer1: Linear", "layer2: Linear", "x",
                      "y"]
    assert len(edges) == 5  # x -> layer1 -> ReLU -> layer2 -> MSE <- y
    assert "cluster" not in collapsed


def test_seed_picture_is_written_by_both_renderers(tmp_path):
    pytest.importorskip("matplotlib")
    picture = mg.viz.seed_example_picture(n=16)
    path = mg.viz.save_png(picture, str(tmp_path / "seed.png"), engine="matplotlib", dpi=50)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    if mg.viz._dot_program() is not None:
        mg.viz.save_png(picture, str(tmp_path / "dot.png"), engine="dot", dpi=50)
        with open(tmp_path / "dot.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_multi_output_node_deep_graph_and_svg(no_graphviz):
    x = mg.randn(4, 3, requires_grad=True)
    first, second = x.split(2, dim=0)
    loss = (first * 2).sum() + second.exp().mean()
    with mg.autograd.trace() as t:
        loss.backward(retain_graph=True)
    split = next(r for r in t if r.op == "SplitBackward0")
    assert split.out_shapes == [(2, 3), (2, 3)]
    both = np.concatenate([g.ravel() for g in split.grad_in])
    source = mg.viz.draw_graph(loss, show=("norm",), params={"x": x}, trace=t).source
    nodes, edges = _dot_nodes_edges(source)
    assert f"Split\\n|grad| = {np.linalg.norm(both):.4g}" in nodes.values()
    split_id = next(nid for nid, label in nodes.items() if label.startswith("Split"))
    assert sum(1 for src, _ in edges if src == split_id) == 2  # one arrow per used output

    deep = x
    for _ in range(3000):  # no recursion anywhere: deep graphs are fine
        deep = deep * 1.0001
    picture = mg.viz.draw_graph(deep.sum())
    assert len(_dot_nodes_edges(picture.source)[0]) == 3002
    small = mg.viz.draw_graph(loss)
    assert "<svg" in small._repr_svg_()
    assert "image/svg+xml" in small._repr_mimebundle_()


def test_draw_graph_checks_its_arguments():
    with pytest.raises(ValueError, match="unknown item"):
        mg.viz.draw_graph(mg.ones(1, requires_grad=True).sum(), show=("shapes",))
    with pytest.raises(TypeError, match="Tensor"):
        mg.viz.draw_graph(np.ones(2))
    picture = mg.viz.draw_graph(mg.ones(1, requires_grad=True).sum())
    with pytest.raises(ValueError, match="engine"):
        mg.viz.save_png(picture, "never.png", engine="svg")


# ---- the backward trace ----------------------------------------------------------------------

def _hooked_order(loss):
    """The engine's visiting order and gradients, seen by node pre/post hooks (an oracle
    independent of the trace)."""
    seen = []
    nodes, stack = [], [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in nodes:
            continue
        nodes.append(node)
        for edge in node._edges:  # (not next_functions: see the report of issue 14)
            if edge is not None and not isinstance(edge, mg.Tensor):
                stack.append(edge[0] if isinstance(edge, tuple) else edge)

    def pre(node):
        def hook(grad_outputs):
            seen.append([node, [g.numpy().copy() for g in grad_outputs], None])
        return hook

    def post(grad_inputs, grad_outputs):
        seen[-1][2] = [None if g is None else g.numpy().copy() for g in grad_inputs]

    for node in nodes:
        node.register_prehook(pre(node))
        node.register_hook(post)
    return seen


def test_trace_lists_nodes_in_engine_order_with_their_gradient_norms():
    model, x, y = _seed_model()
    loss = F.mse_loss(model(x).tanh() * 2 + model(x), y)  # a node reached along two paths
    seen = _hooked_order(loss)
    with mg.autograd.trace() as t:
        loss.backward()
    assert engine._tracer is None
    assert [r.node for r in t] == [s[0] for s in seen]
    assert len(t) == len(seen) >= 8
    for record, (node, grads_in, grads_out) in zip(t, seen):
        assert record.op == node.name()
        norms_in = [float(np.linalg.norm(g.astype(np.float64))) for g in grads_in]
        np.testing.assert_allclose(record.grad_in_norms, norms_in, rtol=1e-12)
        assert record.out_shapes == [g.shape for g in grads_in]
        for norm, shape, g in zip(record.grad_out_norms, record.grad_out_shapes, grads_out):
            if g is None:
                assert norm is None and shape is None
            else:
                assert shape == g.shape
                assert math.isclose(norm, float(np.linalg.norm(g.astype(np.float64))),
                                    rel_tol=1e-12)
        assert record.seconds >= 0
    table = str(t)
    assert table.splitlines()[0].split()[:2] == ["#", "op"]
    assert "MSEFusedBackward0" in table.splitlines()[2]
    assert f"{len(t)} nodes in 1 backward pass" in table


def test_trace_of_a_known_chain():
    x = mg.tensor([3.0, 4.0], requires_grad=True)
    with mg.autograd.trace() as t:
        (x * 2).sum().backward()
    assert [r.op for r in t] == ["SumBackward0", "MulBackward0"]
    assert t[0].grad_in_norms == [1.0] and t[0].grad_out_norms == [math.sqrt(2)]
    assert t[1].grad_in_norms == [math.sqrt(2)] and t[1].grad_out_norms[0] == math.sqrt(8)


def test_traced_backward_gives_the_same_gradients_and_counts_passes():
    model, x, y = _seed_model()
    F.mse_loss(model(x), y).backward()
    plain = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with mg.autograd.trace() as t:
        F.mse_loss(model(x), y).backward()
        a = mg.tensor([1.0, 2.0], requires_grad=True)
        (g,) = mg.autograd.grad((a ** 3).sum(), a, create_graph=True)
        g.sum().backward()
    for p, expected in zip(model.parameters(), plain):
        np.testing.assert_array_equal(p.grad.numpy(), expected)
    np.testing.assert_allclose(a.grad.numpy(), [6.0, 12.0])  # d2/da2 sum a^3 = 6a
    assert t.passes == 3
    assert sorted({r.pass_index for r in t}) == [0, 1, 2]


def test_trace_to_dataframe():
    pd = pytest.importorskip("pandas")
    x = mg.tensor([3.0, 4.0], requires_grad=True)
    with mg.autograd.trace() as t:
        (x * 2).sum().backward()
    frame = t.to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["op"]) == ["SumBackward0", "MulBackward0"]


def test_draw_graph_uses_a_trace_for_intermediate_gradients(no_graphviz):
    *_, d = _small_graph()
    with mg.autograd.trace() as t:
        d.backward(retain_graph=True)
    nodes, _ = _dot_nodes_edges(mg.viz.draw_graph(d, show=("grad",), trace=t).source)
    assert "Mul\\ngrad = [1, 1]" in nodes.values()


# ---- compare ---------------------------------------------------------------------------------

def test_compare_reports_known_differences(capsys):
    w = mg.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=mg.float64, requires_grad=True)
    (w * w).sum().backward()
    exact = 2 * w.numpy()
    result = mg.autograd.compare("w", exact, w)
    assert tuple(result) == ("w", True, True, 0.0)
    out = capsys.readouterr().out
    assert out.startswith("w ") and "exact: True" in out and "approximate: True" in out

    close = exact * (1 + 1e-9)
    result = mg.autograd.compare("w", mg.tensor(close), w, verbose=False)
    assert not result.exact and result.approximate
    assert math.isclose(result.max_difference, 6e-9, rel_tol=1e-6)

    wrong = exact.copy()
    wrong[1, 0] += 0.25
    result = mg.autograd.compare("w", wrong, w, verbose=False)
    assert (result.exact, result.approximate, result.max_difference) == (False, False, 0.25)
    assert capsys.readouterr().out == ""


def test_compare_errors():
    w = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="backward"):
        mg.autograd.compare("w", np.ones(2), w)
    h = w * 2
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_grad"):
        mg.autograd.compare("h", np.ones(2), h)
    with pytest.raises(mg.ShapeError, match=r"\(2, 1\).*\(2,\)"):
        mg.autograd.compare("w", np.ones((2, 1)), w)


# ---- optimizer.describe ----------------------------------------------------------------------

def _steps(opt, p, target, n):
    for _ in range(n):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()


def test_adam_describe_matches_a_plain_rederivation():
    mg.manual_seed(1)
    p = mg.randn(3, dtype=mg.float64, requires_grad=True)
    target = mg.tensor([1.0, -1.0, 0.5], dtype=mg.float64)
    lr, beta1, beta2, eps = 0.05, 0.8, 0.99, 1e-8
    opt = optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    _steps(opt, p, target, 4)
    d = opt.describe()
    group = d.groups[0]
    assert group["steps"] == 4 and group["next_step"] == 5
    values = {k: v for k, (v, _) in group["values"].items()}
    assert math.isclose(values["bias_correction1"], 1 - 0.8 ** 5, rel_tol=1e-15)
    assert math.isclose(values["bias_correction2"], 1 - 0.99 ** 5, rel_tol=1e-15)
    assert math.isclose(values["step_size"], lr / (1 - 0.8 ** 5), rel_tol=1e-15)
    assert group["hyperparameters"]["betas"] == (0.8, 0.99)
    assert group["state"] == {"exp_avg": "shape (3,)", "exp_avg_sq": "shape (3,)"}
    # the next update, re-derived in numpy from the described numbers
    m, v = opt.state[p]["exp_avg"].copy(), opt.state[p]["exp_avg_sq"].copy()
    before = p.numpy().copy()
    g = 2 * (before - target.numpy())
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    expected = before - values["step_size"] * m / (
        np.sqrt(v) / values["sqrt(bias_correction2)"] + eps)
    _steps(opt, p, target, 1)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12)
    text = str(d)
    assert text.startswith("Adam:") and "bias_correction1 = 0.67232" in text
    assert "m_t" in text and "exp_avg shape (3,)" in text and "t = 5" in text


def test_adagrad_and_adamw_describe():
    p = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    target = mg.zeros(2, dtype=mg.float64)
    opt = optim.Adagrad([p], lr=0.1, lr_decay=0.5)
    _steps(opt, p, target, 2)
    (clr, _), = opt.describe().groups[0]["values"].values()
    assert math.isclose(clr, 0.1 / (1 + 2 * 0.5))
    before, s = p.numpy().copy(), opt.state[p]["sum"].copy()
    g = 2 * before
    _steps(opt, p, target, 1)
    np.testing.assert_allclose(p.numpy(), before - clr * g / (np.sqrt(s + g * g) + 1e-10))

    opt = optim.AdamW([p], lr=0.01, weight_decay=0.1)
    values = opt.describe().groups[0]["values"]
    assert values["decay_factor"][0] == 1 - 0.01 * 0.1
    assert "m_t" in opt.describe().formula  # AdamW's rule includes Adam's


def test_sgd_describe_steady_state_step():
    p = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    d = opt.describe()
    step = d.groups[0]["values"]["steady_state_step"][0]
    assert math.isclose(step, 0.1 * 0.5 / 0.1)
    for _ in range(400):  # constant gradient 1: the step tends to the steady state
        opt.zero_grad()
        before = p.item()
        p.sum().backward()
        opt.step()
    assert math.isclose(before - p.item(), step, rel_tol=1e-9)
    assert "not counted by SGD" in str(opt.describe())


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "ASGD", "NAdam", "RAdam", "RMSprop",
                                  "Rprop"])
def test_every_optimizer_describes_itself(name):
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = getattr(optim, name)([p])
    _steps(opt, p, mg.zeros(2), 2)
    text = str(opt.describe())
    assert text.startswith(f"{name}:") and re.search(r"p\s+<-", text) and "t = 3" in text
    assert "lr=" in text


# ---- the tutorials ---------------------------------------------------------------------------

TUTORIAL_FILES = sorted(f for f in os.listdir(TUTORIALS) if f.endswith(".py")) \
    if os.path.isdir(TUTORIALS) else []


def test_the_tutorials_are_there():
    assert len(TUTORIAL_FILES) >= 5


@pytest.mark.parametrize("name", TUTORIAL_FILES)
def test_tutorial_runs_and_passes_its_checks(name, tmp_path):
    env = child_env(MPLBACKEND="Agg", MINIGRAD_TUTORIAL_SIZE="small")
    done = subprocess.run([sys.executable, os.path.join(TUTORIALS, name), "--out",
                           str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all checks passed" in done.stdout
