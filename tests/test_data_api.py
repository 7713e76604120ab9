"""minigrad.utils.data against torch.utils.data, in one process: samplers, the datasets that
combine datasets, collation rules, the loader's arguments and their errors. The same code
runs on both libraries wherever that makes sense (the worker processes are in
test_data_workers.py)."""
import collections
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data as mdata
from minigrad.random import Generator


def _torch_data():
    torch = pytest.importorskip("torch")
    return torch, torch.utils.data


def _libs():
    """(lib, tensor constructor, utils.data module) for minigrad, and torch if installed."""
    libs = [("minigrad", mg.tensor, mdata)]
    try:
        import torch
    except ImportError:
        return libs
    return libs + [("torch", torch.tensor, torch.utils.data)]


LIBS = [name for name, _, _ in _libs()]


def _lib(name):
    return {n: (t, d) for n, t, d in _libs()}[name]


def _plain(batch):
    """A batch of either library as nested Python: tensors become (dtype name, shape, values)."""
    if isinstance(batch, np.ndarray):
        return ("ndarray", batch.dtype.name, batch.shape, batch.tolist())
    if hasattr(batch, "numpy") and hasattr(batch, "shape"):
        array = batch.numpy()
        return ("tensor", array.dtype.name, tuple(array.shape), array.tolist())
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, [_plain(v) for v in batch])
    if isinstance(batch, (list, tuple)):
        return [type(batch).__name__] + [_plain(v) for v in batch]
    return batch


def _error(fn):
    """(exception type name, message) of what ``fn()`` raises, or None."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test compares whatever is raised
        return type(e).__name__, str(e)
    return None


def _same_error(make, *, message=True):
    """Run ``make(tensor, data)`` on both libraries: same exception type (and message)."""
    _, tdata = _torch_data()
    import torch
    ours = _error(lambda: make(mg.tensor, mdata))
    theirs = _error(lambda: make(torch.tensor, tdata))
    assert ours is not None and theirs is not None, (ours, theirs)
    assert ours[0] == theirs[0], (ours, theirs)
    if message:
        assert ours[1] == theirs[1], (ours, theirs)
    return ours


class Squares:
    """A map-style dataset that is not a Dataset subclass (duck typing works in both)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


# --------------------------------------------------------------------------------------------
# Public names
# --------------------------------------------------------------------------------------------

def test_public_names_match_torch():
    _, tdata = _torch_data()
    datapipe_names = {"DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe",
                      "DistributedSampler", "argument_validation", "functional_datapipe",
                      "guaranteed_datapipes_determinism", "non_deterministic",
                      "runtime_validation", "runtime_validation_disabled"}
    assert set(mdata.__all__) == set(tdata.__all__) - datapipe_names
    for name in mdata.__all__:
        assert hasattr(mdata, name)


# --------------------------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
def test_sequential_and_batch_samplers(lib):
    _, data = _lib(lib)
    seq = data.SequentialSampler(range(7))
    assert list(seq) == list(range(7)) and len(seq) == 7
    batches = data.BatchSampler(seq, 3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    dropped = data.BatchSampler(seq, 3, drop_last=True)
    assert list(dropped) == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert list(data.BatchSampler([5, 1], 4, False)) == [[5, 1]]


@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "3", np.int64(3)])
def test_batch_sampler_batch_size_errors_match_torch(bad):
    _same_error(lambda T, d: d.BatchSampler(range(5), bad, False))


def test_batch_sampler_drop_last_must_be_bool():
    _same_error(lambda T, d: d.BatchSampler(range(5), 2, 1))


def test_random_sampler_permutes_each_epoch():
    sampler = mdata.RandomSampler(range(20))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20)) and len(sampler) == 20
    assert first != second  # a fresh order per epoch (1 in 20! chance of a false failure)


def test_random_sampler_num_samples_without_replacement():
    """More samples than data: whole permutations, then the start of another."""
    mg.manual_seed(0)
    drawn = list(mdata.RandomSampler(range(4), num_samples=10))
    assert len(drawn) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]
    assert len(set(drawn[8:])) == 2
    assert len(list(mdata.RandomSampler(range(10), num_samples=3))) == 3


def test_random_sampler_with_replacement_draws_uniformly():
    sampler = mdata.RandomSampler(range(5), replacement=True, num_samples=5000,
                                  generator=Generator().manual_seed(1))
    drawn = np.array(list(sampler))
    assert len(drawn) == 5000 and drawn.min() >= 0 and drawn.max() <= 4
    counts = np.bincount(drawn, minlength=5)
    assert np.all(np.abs(counts - 1000) < 150), counts  # ~5 sigma


def test_random_sampler_generator_makes_it_reproducible():
    def draw(seed):
        return list(mdata.RandomSampler(range(30), generator=Generator().manual_seed(seed)))
    assert draw(3) == draw(3) != draw(4)
    mg.manual_seed(11)
    a = list(mdata.RandomSampler(range(30)))
    mg.manual_seed(11)
    assert list(mdata.RandomSampler(range(30))) == a


@pytest.mark.parametrize("kwargs", [{"replacement": 1}, {"num_samples": 0},
                                    {"num_samples": -1}, {"num_samples": 2.5}])
def test_random_sampler_argument_errors_match_torch(kwargs):
    _same_error(lambda T, d: d.RandomSampler(range(5), **kwargs))


def test_random_sampler_of_empty_dataset_is_an_error_like_torch():
    _same_error(lambda T, d: d.DataLoader(d.TensorDataset(T([])), shuffle=True))


def test_subset_random_sampler():
    indices = [10, 20, 30, 40]
    mg.manual_seed(2)
    first = list(mdata.SubsetRandomSampler(indices))
    assert sorted(first) == indices
    mg.manual_seed(2)
    assert list(mdata.SubsetRandomSampler(indices)) == first
    own = mdata.SubsetRandomSampler(indices, generator=Generator().manual_seed(5))
    assert list(own) == [indices[i] for i in np.random.default_rng(5).permutation(4)]
    assert len(own) == 4


def test_weighted_random_sampler_frequencies():
    weights = [0.1, 0.0, 0.6, 0.3]
    sampler = mdata.WeightedRandomSampler(weights, 6000, generator=Generator().manual_seed(0))
    counts = np.bincount(list(sampler), minlength=4) / 6000
    assert counts[1] == 0
    np.testing.assert_allclose(counts, weights, atol=0.03)


def test_weighted_random_sampler_keeps_weights_as_a_float64_tensor():
    sampler = mdata.WeightedRandomSampler([1, 2, 3], 2)
    assert isinstance(sampler.weights, mg.Tensor) and sampler.weights.dtype == mg.float64
    assert sampler.weights.tolist() == [1.0, 2.0, 3.0] and len(sampler) == 2


def test_weighted_random_sampler_without_replacement():
    sampler = mdata.WeightedRandomSampler([1.0, 0.0, 5.0, 2.0], 3, replacement=False)
    for _ in range(20):
        drawn = list(sampler)
        assert sorted(drawn) == [0, 2, 3]
    # More draws than non-zero weights: the zero weights come last, as in torch.multinomial.
    drawn = list(mdata.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False))
    assert sorted(drawn[:2]) == [0, 2] and drawn[2] == 1
    _, tdata = _torch_data()
    assert list(tdata.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False))[2] == 1


@pytest.mark.parametrize("weights, num_samples, replacement", [
    ([1.0, -1.0], 2, True),
    ([0.0, 0.0], 2, True),
    ([1.0, float("nan")], 2, True),
    ([1.0, float("inf")], 2, True),
    ([], 3, True),
])
def test_weighted_random_sampler_bad_weights_match_torch(weights, num_samples, replacement):
    _same_error(lambda T, d: list(d.WeightedRandomSampler(weights, num_samples, replacement)))


def test_weighted_random_sampler_too_many_without_replacement():
    # Same type as torch; our message also names the sizes.
    _same_error(lambda T, d: list(d.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)),
                message=False)


@pytest.mark.parametrize("args", [([[1.0, 2.0]], 3), ([1.0, 2.0], 0), ([1.0], True),
                                  ([1.0], 2, 1)])
def test_weighted_random_sampler_argument_errors_match_torch(args):
    _same_error(lambda T, d: d.WeightedRandomSampler(*args))


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
def test_concat_dataset(lib):
    T, data = _lib(lib)
    a, b = data.TensorDataset(T([0, 1, 2])), data.TensorDataset(T([10, 11]))
    both = a + b
    assert type(both).__name__ == "ConcatDataset"
    assert len(both) == 5 and both.cumulative_sizes == [3, 5]
    assert [int(both[i][0]) for i in range(5)] == [0, 1, 2, 10, 11]
    assert int(both[-1][0]) == 11 and int(both[-5][0]) == 0
    batches = [b[0].tolist() for b in data.DataLoader(both, batch_size=2)]
    assert batches == [[0, 1], [2, 10], [11]]


@pytest.mark.parametrize("make", [
    lambda T, d: d.ConcatDataset([d.TensorDataset(T([1, 2]))])[-3],
    lambda T, d: d.ConcatDataset([d.TensorDataset(T([1, 2]))])[2],
    lambda T, d: d.ConcatDataset([]),
])
def test_concat_dataset_errors_match_torch(make):
    _same_error(make)


def count_class(data):
    """An IterableDataset of ``data`` (either library): 0..n-1 as a stream, each worker
    taking every num_workers-th value."""

    class Count(data.IterableDataset):
        def __init__(self, n, length=None):
            self.n = n
            self.length = length

        def __iter__(self):
            info = data.get_worker_info()
            if info is None:
                return iter(range(self.n))
            return iter(range(info.id, self.n, info.num_workers))

        def __len__(self):
            if self.length is None:
                raise TypeError("no length")
            return self.length

    return Count


Count = count_class(mdata)


def test_chain_dataset_and_add():
    chained = Count(3) + Count(2)
    assert isinstance(chained, mdata.ChainDataset)
    assert list(chained) == [0, 1, 2, 0, 1]
    assert len(mdata.ChainDataset([Count(3, length=3), Count(2, length=2)])) == 5
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(mdata.ChainDataset([mdata.TensorDataset(mg.zeros(2))]))
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        mdata.ConcatDataset([Count(3)])


@pytest.mark.parametrize("lib", LIBS)
def test_stack_dataset(lib):
    T, data = _lib(lib)
    xs, ys = data.TensorDataset(T([1.0, 2.0, 3.0])), Squares(3)
    pairs = data.StackDataset(xs, ys)
    assert len(pairs) == 3
    x, y = pairs[2]
    assert float(x[0]) == 3.0 and y == 4
    named = data.StackDataset(x=xs, y=ys)
    assert set(named[1]) == {"x", "y"} and named[1]["y"] == 1
    assert _plain(named.__getitems__([0, 2]))[2] == _plain({"x": xs[2], "y": 4})
    batch = next(iter(data.DataLoader(named, batch_size=3)))
    assert _plain(batch["y"]) == ("tensor", "int64", (3,), [0, 1, 4])


def test_stack_dataset_results_match_torch():
    _, tdata = _torch_data()
    ours = list(mdata.DataLoader(mdata.StackDataset(a=Squares(5), b=Squares(5)), batch_size=2))
    theirs = list(tdata.DataLoader(tdata.StackDataset(a=Squares(5), b=Squares(5)),
                                   batch_size=2))
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


@pytest.mark.parametrize("make", [
    lambda T, d: d.StackDataset(Squares(2), a=Squares(2)),
    lambda T, d: d.StackDataset(),
    lambda T, d: d.StackDataset(Squares(2), Squares(3)),
])
def test_stack_dataset_errors_match_torch(make):
    _same_error(make, message=False)


def test_subset_getitems_and_subclass_rule():
    ds = mdata.TensorDataset(mg.arange(10))
    sub = mdata.Subset(ds, [9, 3, 5])
    assert [int(s[0]) for s in sub.__getitems__([0, 2])] == [9, 5]

    class Doubled(mdata.Subset):
        def __getitem__(self, i):
            return 2 * super().__getitem__(i)

    _same_error(lambda T, d: type("Doubled", (d.Subset,), {
        "__getitem__": lambda self, i: 0})(d.TensorDataset(T([1])), [0]))
    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Doubled(ds, [1])


def test_random_split_reproducible_with_generator():
    def split(seed):
        return [list(p.indices) for p in mdata.random_split(
            range(20), [0.25, 0.75], generator=Generator().manual_seed(seed))]
    assert split(1) == split(1) != split(2)
    parts = split(1)
    assert sorted(parts[0] + parts[1]) == list(range(20)) and len(parts[0]) == 5
    assert parts[0] + parts[1] == np.random.default_rng(1).permutation(20).tolist()


@pytest.mark.parametrize("lib", LIBS)
def test_iterable_dataset_in_main_process(lib):
    _, data = _lib(lib)
    Count = count_class(data)
    batches = [b.tolist() for b in data.DataLoader(Count(5), batch_size=2)]
    assert batches == [[0, 1], [2, 3], [4]]
    dropped = [b.tolist() for b in data.DataLoader(Count(5), batch_size=2, drop_last=True)]
    assert dropped == [[0, 1], [2, 3]]
    singles = [int(s) for s in data.DataLoader(Count(3), batch_size=None)]
    assert singles == [0, 1, 2]


def test_iterable_dataset_len_and_its_warning():
    # PyTorch's check compares batches yielded with the dataset's length in samples.
    loader = mdata.DataLoader(Count(5, length=2), batch_size=2)
    assert len(loader) == 1
    with pytest.warns(UserWarning, match="was reported to be 2"):
        assert len([b for b in loader]) == 3
    with pytest.raises(TypeError):
        len(mdata.DataLoader(Count(5)))


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]},
                                    {"batch_sampler": [[0]]}])
def test_iterable_dataset_refuses_samplers_like_torch(kwargs):
    class Stream(mdata.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    _, tdata = _torch_data()

    class TorchStream(tdata.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    ours = _error(lambda: mdata.DataLoader(Stream(), **kwargs))
    theirs = _error(lambda: tdata.DataLoader(TorchStream(), **kwargs))
    assert ours == theirs and ours[0] == "ValueError"


# --------------------------------------------------------------------------------------------
# Collation
# --------------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "ints and bools": lambda T: [True, 2],
    "numpy bools": lambda T: [np.bool_(True), np.bool_(False)],
    "numpy scalars of two dtypes": lambda T: [np.float32(1), np.float64(2)],
    "numpy arrays of two dtypes": lambda T: [np.zeros(2, np.float32), np.ones(2)],
    "tensors of two dtypes": lambda T: [T([1, 2]), T([0.5, 1.5])],
    "numpy strings": lambda T: [np.str_("a"), np.str_("b")],
    "bytes": lambda T: [b"ab", b"cd"],
    "ranges": lambda T: [range(2), range(2)],
    "ordered dicts": lambda T: [collections.OrderedDict(a=1, b=2.0),
                                collections.OrderedDict(a=3, b=4.0)],
    "defaultdicts": lambda T: [collections.defaultdict(int, a=1),
                               collections.defaultdict(int, a=2)],
    "namedtuples of dicts": lambda T: [Point({"k": 1}, [1, 2]), Point({"k": 2}, [3, 4])],
    "lists of tuples": lambda T: [[(1, "a")], [(2, "b")]],
    "2-d numpy": lambda T: [np.arange(6).reshape(2, 3), np.arange(6, 12).reshape(2, 3)],
    "uint8 and int8 arrays": lambda T: [np.array([1, 2], np.uint8), np.array([3, 4], np.uint8)],
}


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_more_cases_match_torch(case):
    torch, tdata = _torch_data()
    ours = mdata.default_collate(COLLATE_CASES[case](mg.tensor))
    theirs = tdata.default_collate(COLLATE_CASES[case](torch.tensor))
    assert type(ours) is type(theirs) or isinstance(ours, mg.Tensor)
    assert _plain(ours) == _plain(theirs)


@pytest.mark.parametrize("batch", [
    lambda T: [T([1.0, 2.0]), T([1.0, 2.0, 3.0])],
    lambda T: [None, None],
    lambda T: [],
    lambda T: [np.array(["a"]), np.array(["b"])],
    lambda T: [np.array([object()]), np.array([object()])],
    lambda T: [(1, 2), (3,)],
    lambda T: [object()],
])
def test_default_collate_errors_match_torch(batch):
    _same_error(lambda T, d: d.default_collate(batch(T)))


CONVERT_CASES = {
    "numpy array": lambda: np.arange(3),
    "numpy scalar": lambda: np.float32(3),
    "numpy string array": lambda: np.array(["x"]),
    "numpy str": lambda: np.str_("s"),
    "tuple of mixed": lambda: (np.zeros(2), 3, "a"),
    "list of arrays": lambda: [np.ones(2), np.int64(4)],
    "dict": lambda: {"a": np.ones(1), "b": [np.zeros(1)], "c": "c"},
    "namedtuple": lambda: Point(np.int64(1), np.float64(2.5)),
    "plain int": lambda: 7,
}


@pytest.mark.parametrize("case", list(CONVERT_CASES))
def test_default_convert_matches_torch(case):
    _, tdata = _torch_data()
    ours, theirs = mdata.default_convert(CONVERT_CASES[case]()), tdata.default_convert(
        CONVERT_CASES[case]())
    assert _plain(ours) == _plain(theirs)
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray)


def test_custom_collate_fn_map():
    """Extend collation for a type of one's own the PyTorch way."""
    from minigrad.utils.data.collate import collate, default_collate_fn_map

    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    with pytest.raises(TypeError, match="found"):
        mdata.default_collate([Box(1), Box(2)])
    fn_map = {**default_collate_fn_map, Box: collate_box}
    out = collate([{"b": Box(1), "n": 1}, {"b": Box(2), "n": 2}], collate_fn_map=fn_map)
    assert out["b"] == 3 and out["n"].tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# The loader: composition of batches, arguments and errors
# --------------------------------------------------------------------------------------------

LOADER_CASES = {
    "defaults": {},
    "batch 3": {"batch_size": 3},
    "batch 3 drop_last": {"batch_size": 3, "drop_last": True},
    "no batching": {"batch_size": None},
    "sampler": {"batch_size": 2, "sampler": [6, 0, 3, 3]},
    "batch_sampler": {"batch_sampler": [[1, 2], [6], [0, 0, 5]]},
    "BatchSampler object": "batch_sampler_object",
    "collate_fn": {"batch_size": 4, "collate_fn": lambda samples: [len(samples), samples[0]]},
}


class Records:
    """Samples of every collatable kind, identical for both libraries."""

    def __getitem__(self, i):
        return {"id": i, "x": np.full((2,), i, np.float32), "w": i / 4, "name": f"s{i}",
                "pair": (i, [i, -i])}

    def __len__(self):
        return 7


@pytest.mark.parametrize("case", list(LOADER_CASES))
def test_loader_batches_match_torch(case):
    _, tdata = _torch_data()

    def run(data):
        kwargs = LOADER_CASES[case]
        if kwargs == "batch_sampler_object":
            kwargs = {"batch_sampler": data.BatchSampler(data.SequentialSampler(range(7)), 3,
                                                          True)}
        loader = data.DataLoader(Records(), **kwargs)
        return len(loader), [_plain(b) for b in loader]

    assert run(mdata) == run(tdata)


@pytest.mark.parametrize("kwargs", [
    {"shuffle": True, "sampler": [0, 1]},
    {"batch_size": 2, "batch_sampler": [[0, 1]]},
    {"shuffle": True, "batch_sampler": [[0, 1]]},
    {"drop_last": True, "batch_sampler": [[0, 1]]},
    {"sampler": [0], "batch_sampler": [[0, 1]]},
    {"batch_size": None, "drop_last": True},
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"multiprocessing_context": "fork"},
    {"num_workers": 1, "multiprocessing_context": "bogus"},
    {"num_workers": 1, "multiprocessing_context": 3},
    {"batch_size": 0},
    {"batch_size": -3},
    {"batch_size": 1.5},
    {"batch_size": True},
])
def test_loader_argument_errors_match_torch(kwargs):
    _same_error(lambda T, d: d.DataLoader(d.TensorDataset(T([1.0, 2.0, 3.0])), **kwargs))


def test_timeout_without_workers_fails_on_iteration_like_torch():
    _same_error(lambda T, d: iter(d.DataLoader(d.TensorDataset(T([1.0])), timeout=1)))


@pytest.mark.parametrize("attr", ["batch_size", "batch_sampler", "sampler", "drop_last",
                                  "dataset", "persistent_workers"])
def test_loader_attributes_frozen_after_init_like_torch(attr):
    _same_error(lambda T, d: setattr(d.DataLoader(d.TensorDataset(T([1.0]))), attr, None))
    loader = mdata.DataLoader(mdata.TensorDataset(mg.zeros(2)))
    loader.num_workers = 0  # the others may change, as in torch
    loader.collate_fn = mdata.default_collate


def test_loader_attributes_are_torchs():
    _, tdata = _torch_data()
    import torch

    def attrs(T, d, **kwargs):
        loader = d.DataLoader(d.TensorDataset(T([1.0, 2.0])), **kwargs)
        return (loader.batch_size, loader.drop_last, type(loader.sampler).__name__,
                type(loader.batch_sampler).__name__, loader.collate_fn.__name__,
                loader.prefetch_factor, loader.num_workers, loader.timeout, loader.in_order,
                loader.persistent_workers, loader.pin_memory)

    for kwargs in [{}, {"shuffle": True, "batch_size": 2}, {"batch_size": None},
                   {"num_workers": 2}, {"batch_sampler": [[0]]}]:
        assert attrs(mg.tensor, mdata, **kwargs) == attrs(torch.tensor, tdata, **kwargs)


def test_pin_memory_is_accepted_and_warns_like_torch_without_an_accelerator():
    loader = mdata.DataLoader(mdata.TensorDataset(mg.arange(4)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="no accelerator is found"):
        batches = [b[0].tolist() for b in loader]
    assert batches == [[0, 1], [2, 3]]


def test_more_workers_than_cpus_warns_like_torch():
    import os
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with pytest.warns(UserWarning, match=f"will create {cpus + 1} worker processes"):
        mdata.DataLoader(mdata.TensorDataset(mg.zeros(2)), num_workers=cpus + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mdata.DataLoader(mdata.TensorDataset(mg.zeros(2)), num_workers=1)


def test_shuffle_same_seed_same_order_new_epoch_new_order():
    ds = mdata.TensorDataset(mg.arange(40))

    def epochs(loader, k=2):
        return [[int(v) for b in loader for v in b[0].tolist()] for _ in range(k)]

    mg.manual_seed(5)
    a = epochs(mdata.DataLoader(ds, batch_size=8, shuffle=True))
    mg.manual_seed(5)
    b = epochs(mdata.DataLoader(ds, batch_size=8, shuffle=True))
    assert a == b and a[0] != a[1] and sorted(a[0]) == list(range(40))
    g1 = mdata.DataLoader(ds, batch_size=8, shuffle=True, generator=Generator().manual_seed(1))
    g2 = mdata.DataLoader(ds, batch_size=8, shuffle=True, generator=Generator().manual_seed(1))
    assert epochs(g1, 3) == epochs(g2, 3)


@pytest.mark.parametrize("make_sampler", [
    lambda: mdata.SequentialSampler(range(11)),
    lambda: mdata.RandomSampler(range(11), generator=Generator().manual_seed(4)),
    lambda: mdata.RandomSampler(range(11), num_samples=25, generator=Generator().manual_seed(4)),
    lambda: mdata.RandomSampler(range(11), replacement=True, num_samples=7,
                                generator=Generator().manual_seed(4)),
])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loaders_array_batches_equal_the_batch_samplers_lists(make_sampler, drop_last):
    """The loader cuts the default samplers' batches from one array per epoch; they must be
    the batches iter(BatchSampler) gives, from the same draws."""
    from minigrad.utils.data.sampler import _index_array_batches
    as_lists = list(mdata.BatchSampler(make_sampler(), 3, drop_last))
    as_arrays = [a.tolist() for a in _index_array_batches(
        mdata.BatchSampler(make_sampler(), 3, drop_last))]
    assert as_arrays == as_lists
    mg.manual_seed(6)
    unseeded = list(mdata.BatchSampler(mdata.RandomSampler(range(11)), 4, drop_last))
    mg.manual_seed(6)
    assert [a.tolist() for a in _index_array_batches(
        mdata.BatchSampler(mdata.RandomSampler(range(11)), 4, drop_last))] == unseeded


def test_datasets_receive_python_ints():
    seen = []

    class Recording(mdata.Dataset):
        def __getitem__(self, i):
            seen.append(type(i))
            return i

        def __len__(self):
            return 5

    class RecordingBatches(Recording):
        def __getitems__(self, indices):
            seen.append(type(indices))
            seen.extend(type(i) for i in indices)
            return list(indices)

    for dataset in (Recording(), RecordingBatches()):
        for kwargs in ({"batch_size": 2}, {"batch_size": 2, "shuffle": True},
                       {"batch_size": None}):
            seen.clear()
            list(mdata.DataLoader(dataset, **kwargs))
            assert seen and set(seen) <= {int, list}, (kwargs, seen)
