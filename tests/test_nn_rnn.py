"""Recurrent layers and cells against PyTorch's: parameter names and shapes (a PyTorch state
dict loads and gives the same outputs and gradients in float64), layouts (batch_first,
unbatched, bidirectional, stacked, no bias), initial states, dropout between layers, default
initialisation, gradcheck/gradgradcheck of the fused cell ops, and PyTorch's exceptions."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

# (class, kwargs, input shape, with initial state)
LAYERS = [
    ("RNN", {}, (5, 3, 4), False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, (4, 2, 4), True),
    ("RNN", {"bidirectional": True, "batch_first": True}, (3, 5, 4), True),
    ("RNN", {"bias": False}, (5, 4), True),                                # unbatched
    ("LSTM", {}, (5, 3, 4), False),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, (4, 2, 4), True),
    ("LSTM", {"batch_first": True, "bias": False}, (2, 6, 4), True),
    ("LSTM", {"num_layers": 3}, (6, 4), True),                             # unbatched
    ("GRU", {}, (5, 3, 4), False),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}, (2, 4, 4), True),
    ("GRU", {"bias": False}, (4, 4), False),                               # unbatched
]
IDS = [f"{name}-{i}" for i, (name, *_r) in enumerate(LAYERS)]
HIDDEN = 6


def _pair(name, kwargs, hidden=HIDDEN, input_size=4):
    layer = getattr(nn, name)(input_size, hidden, **kwargs).double()
    tlayer = getattr(torch.nn, name)(input_size, hidden, **kwargs).double()
    tstate = tlayer.state_dict()
    assert list(layer.state_dict()) == list(tstate)
    for key, value in layer.state_dict().items():
        assert tuple(value.shape) == tuple(tstate[key].shape), key
    layer.load_state_dict({k: v.numpy() for k, v in tstate.items()})
    return layer, tlayer


def _initial_state(name, layer, shape, rng):
    d = 2 if layer.bidirectional else 1
    batched = len(shape) == 3
    batch = (shape[0] if layer.batch_first else shape[1]) if batched else None
    hshape = (layer.num_layers * d,) + ((batch,) if batched else ()) + (HIDDEN,)
    states = [rng.standard_normal(hshape) for _ in range(2 if name == "LSTM" else 1)]
    return states


@pytest.mark.parametrize("name, kwargs, shape, with_state", LAYERS, ids=IDS)
def test_layer_matches_torch(backend, name, kwargs, shape, with_state):
    layer, tlayer = _pair(name, kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    margs, targs = [mx], [tx]
    mstates = tstates = []
    if with_state:
        states = _initial_state(name, layer, shape, rng)
        mstates = [mg.tensor(s, requires_grad=True) for s in states]
        tstates = [torch.tensor(s, requires_grad=True) for s in states]
        margs.append(tuple(mstates) if name == "LSTM" else mstates[0])
        targs.append(tuple(tstates) if name == "LSTM" else tstates[0])
    mout, mh = layer(*margs)
    tout, th = tlayer(*targs)
    mh = list(mh) if name == "LSTM" else [mh]
    th = list(th) if name == "LSTM" else [th]
    outs = [(mout, tout)] + list(zip(mh, th))
    loss_m, loss_t = 0, 0
    for k, (m, t) in enumerate(outs):
        assert tuple(m.shape) == tuple(t.shape)
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = np.random.default_rng(10 + k).standard_normal(tuple(t.shape))
        loss_m = loss_m + (m * mg.tensor(w)).sum()
        loss_t = loss_t + (t * torch.tensor(w)).sum()
    loss_m.backward()
    loss_t.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    for ms, ts in zip(mstates, tstates):
        np.testing.assert_allclose(ms.grad.numpy(), ts.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (pname, p), (tname, tp) in zip(layer.named_parameters(), tlayer.named_parameters()):
        assert pname == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=pname)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_float32_layer_matches_torch(name):
    layer = getattr(nn, name)(3, 5, num_layers=2)
    tlayer = getattr(torch.nn, name)(3, 5, num_layers=2)
    layer.load_state_dict({k: v.numpy() for k, v in tlayer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 2, 3)).astype(np.float32)
    out, _ = layer(mg.tensor(x))
    tout, _ = tlayer(torch.tensor(x))
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers(name):
    """dropout=1 zeroes layer 0's output in training, so layer 1 sees zeros (deterministic,
    comparable with torch); eval mode applies no dropout."""
    layer, tlayer = _pair(name, {"num_layers": 2, "dropout": 1.0})
    x = np.random.default_rng(0).standard_normal((4, 2, 4))
    for train in (True, False):
        layer.train(train)
        tlayer.train(train)
        out, _ = layer(mg.tensor(x))
        tout, _ = tlayer(torch.tensor(x))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    layer.train()
    out_train, _ = layer(mg.tensor(x))
    layer.eval()
    out_eval, _ = layer(mg.tensor(x))
    assert not np.allclose(out_train.numpy(), out_eval.numpy())


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
         ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
         ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("name, kwargs", CELLS)
def test_cell_matches_torch(backend, name, kwargs, batched):
    cell = getattr(nn, name)(4, HIDDEN, **kwargs).double()
    tcell = getattr(torch.nn, name)(4, HIDDEN, **kwargs).double()
    assert list(cell.state_dict()) == list(tcell.state_dict())
    assert repr(cell) == repr(tcell)
    cell.load_state_dict({k: v.numpy() for k, v in tcell.state_dict().items()})
    rng = np.random.default_rng(1)
    lead = (3,) if batched else ()
    x = rng.standard_normal(lead + (4,))
    states = [rng.standard_normal(lead + (HIDDEN,)) for _ in range(2 if "LSTM" in name else 1)]
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ms = [mg.tensor(s, requires_grad=True) for s in states]
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    mo = cell(mx, tuple(ms) if "LSTM" in name else ms[0])
    to = tcell(tx, tuple(ts) if "LSTM" in name else ts[0])
    mo = list(mo) if "LSTM" in name else [mo]
    to = list(to) if "LSTM" in name else [to]
    lm = lt = 0
    for k, (m, t) in enumerate(zip(mo, to)):
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = np.random.default_rng(5 + k).standard_normal(tuple(t.shape))
        lm = lm + (m * mg.tensor(w)).sum()
        lt = lt + (t * torch.tensor(w)).sum()
    lm.backward()
    lt.backward()
    for m, t in [(mx, tx)] + list(zip(ms, ts)) + list(zip(cell.parameters(),
                                                            tcell.parameters())):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)
    # no state given: zeros
    mo = cell(mg.tensor(x))
    to = tcell(torch.tensor(x))
    first_m = mo[0] if "LSTM" in name else mo
    first_t = to[0] if "LSTM" in name else to
    np.testing.assert_allclose(first_m.numpy(), first_t.detach().numpy(), rtol=1e-10)


def _cell_function(name, cell):
    def f(x, *states):
        out = cell(x, tuple(states) if name == "LSTMCell" else states[0])
        if name == "LSTMCell":
            return out[0] * 1.5 + out[1]  # both outputs reach the result
        return out
    return f


@pytest.mark.parametrize("name, kwargs", CELLS)
def test_cell_gradcheck_and_gradgradcheck(backend, name, kwargs):
    cell = getattr(nn, name)(3, 4, **kwargs).double()
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    states = [mg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
              for _ in range(2 if name == "LSTMCell" else 1)]
    inputs = (x, *states, *cell.parameters())
    n = 1 + len(states)

    def f(*args):
        return _cell_function(name, cell)(*args[:n])

    # the parameters take part through the module; gradcheck them as inputs by swapping in
    params = list(cell.parameters())

    def g(*args):
        for p, v in zip(params, args[n:]):
            cell._parameters[_param_name(cell, p)] = v
        try:
            return f(*args)
        finally:
            for p in params:
                cell._parameters[_param_name(cell, p)] = p

    assert gradcheck(g, inputs)
    assert gradgradcheck(g, inputs)


def _param_name(module, param):
    for k, v in module.named_parameters():
        if v is param:
            return k
    raise KeyError


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_layer_gradgradcheck(name):
    layer = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True).double()
    x = mg.tensor(np.random.default_rng(3).standard_normal((3, 2, 2)), requires_grad=True)

    def f(x):
        out, _ = layer(x)
        return out

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_second_derivative_matches_torch():
    """d/dx of (dL/dx . v) through an LSTM, against torch's double backward."""
    layer, tlayer = _pair("LSTM", {"num_layers": 2})
    x = np.random.default_rng(4).standard_normal((3, 2, 4))
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (mg_gx,) = mg.autograd.grad(layer(mx)[0].pow(2).sum(), mx, create_graph=True)
    (t_gx,) = torch.autograd.grad(tlayer(tx)[0].pow(2).sum(), tx, create_graph=True)
    np.testing.assert_allclose(mg_gx.numpy(), t_gx.detach().numpy(), rtol=1e-9)
    (mg_gx * mg_gx).sum().backward()
    (t_gx * t_gx).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    for p, tp in zip(layer.parameters(), tlayer.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name, chunks", [("RNN", 1), ("LSTM", 4), ("GRU", 3),
                                          ("RNNCell", 1), ("LSTMCell", 4), ("GRUCell", 3)])
def test_default_init(name, chunks):
    """Every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)), float32, torch's shapes."""
    layer = getattr(nn, name)(5, 16)
    tlayer = getattr(torch.nn, name)(5, 16)
    bound = 1 / math.sqrt(16)
    values = []
    for (k, p), (tk, tp) in zip(layer.named_parameters(), tlayer.named_parameters()):
        assert k == tk and tuple(p.shape) == tuple(tp.shape) and p.dtype == mg.float32
        assert p.shape[0] == chunks * 16
        values.append(p.numpy().ravel())
    v = np.concatenate(values)
    assert np.all(np.abs(v) <= bound) and np.abs(v).max() > 0.9 * bound
    assert abs(v.mean()) < 0.1 * bound and abs(v.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_repr_and_attributes():
    for name, kwargs in [("RNN", {"nonlinearity": "relu", "num_layers": 2}),
                         ("LSTM", {"bidirectional": True, "dropout": 0.5, "num_layers": 2,
                                   "batch_first": True, "bias": False}),
                         ("GRU", {})]:
        layer = getattr(nn, name)(3, 4, **kwargs)
        tlayer = getattr(torch.nn, name)(3, 4, **kwargs)
        assert repr(layer) == repr(tlayer)
        layer.flatten_parameters()  # PyTorch code calls it; a no-op on the CPU
        for attr in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size", "nonlinearity",
                     "_flat_weights_names"):
            if hasattr(tlayer, attr):
                assert getattr(layer, attr) == getattr(tlayer, attr), attr


@pytest.mark.parametrize("call", [
    lambda nn_, T: nn_.LSTM(3, 4)(T(np.zeros((2, 2, 2, 3)))),            # 4-D input
    lambda nn_, T: nn_.GRU(3, 4)(T(np.zeros((2, 3)).reshape(6)[:3])),    # 1-D input
    lambda nn_, T: nn_.RNN(3, 4)(T(np.zeros((2, 2, 5)))),                # input_size
    lambda nn_, T: nn_.RNN(3, 4, num_layers=2)(T(np.zeros((2, 2, 3))), T(np.zeros((1, 2, 4)))),
    lambda nn_, T: nn_.GRU(3, 4)(T(np.zeros((2, 2, 3))), T(np.zeros((2, 4)))),
    lambda nn_, T: nn_.GRU(3, 4)(T(np.zeros((2, 3))), T(np.zeros((1, 2, 4)))),
    lambda nn_, T: nn_.LSTM(3, 4)(T(np.zeros((2, 2, 3))), (T(np.zeros((1, 2, 4))),
                                                          T(np.zeros((1, 3, 4))))),
    lambda nn_, T: nn_.LSTM(3, 4)(T(np.zeros((2, 2, 3))), (T(np.zeros((2, 4))),
                                                          T(np.zeros((2, 4))))),
    lambda nn_, T: nn_.RNN(3, 4, nonlinearity="sigmoid"),
    lambda nn_, T: nn_.LSTM(3, 4, dropout=1.5),
    lambda nn_, T: nn_.GRU(3, 0),
    lambda nn_, T: nn_.GRU(3, 4, num_layers=0),
    lambda nn_, T: nn_.LSTM(3, 4, proj_size=4),
    lambda nn_, T: nn_.GRU(3, 4, proj_size=2),
    lambda nn_, T: nn_.RNNCell(3, 4)(T(np.zeros((2, 2, 3)))),
    lambda nn_, T: nn_.LSTMCell(3, 4)(T(np.zeros((2, 5)))),
    lambda nn_, T: nn_.GRUCell(3, 4)(T(np.zeros((2, 3))), T(np.zeros((3, 4)))),
    lambda nn_, T: nn_.GRUCell(3, 4)(T(np.zeros((2, 3))), T(np.zeros((2, 5)))),
    lambda nn_, T: nn_.RNNCell(3, 4)(T(np.zeros((2, 3))), T(np.zeros((1, 2, 4)))),
])
def test_errors_match_torch(call):
    def mgT(a):
        return mg.tensor(a.astype(np.float32))

    def tT(a):
        return torch.tensor(a.astype(np.float32))
    with pytest.raises(Exception) as tinfo:
        call(torch.nn, tT)
    with pytest.raises(type(tinfo.value)):
        call(nn, mgT)


def test_dtype_mismatch_is_torchs_value_error():
    layer, tlayer = nn.RNN(3, 4), torch.nn.RNN(3, 4)
    x = np.zeros((2, 2, 3))
    with pytest.raises(ValueError, match="input dtype .* does not match weight dtype"):
        tlayer(torch.tensor(x))
    with pytest.raises(ValueError, match="input dtype .* does not match weight dtype"):
        layer(mg.tensor(x))


def test_proj_size_is_refused():
    with pytest.raises(NotImplementedError):
        nn.LSTM(4, 8, proj_size=2)


def test_lstm_learns_to_add():
    """A few steps of the adding problem with Adam lower the loss (the layer trains)."""
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(2, 8, batch_first=True), nn.Linear(8, 1)
    opt = mg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.02)
    losses = []
    for _ in range(40):
        vals = rng.random((16, 6))
        marks = np.zeros((16, 6))
        idx = np.stack([rng.choice(6, 2, replace=False) for _ in range(16)])
        np.put_along_axis(marks, idx, 1.0, axis=1)
        x = mg.tensor(np.stack([vals, marks], -1).astype(np.float32))
        y = mg.tensor((vals * marks).sum(1, keepdims=True).astype(np.float32))
        out, _ = lstm(x)
        loss = nn.functional.mse_loss(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
