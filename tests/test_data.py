"""minigrad.utils.data: datasets, random_split, DataLoader batching, shuffling and collation."""
import collections

import numpy as np
import pytest

import minigrad as mg
from minigrad.utils.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def make_dataset(n=10, features=3):
    X = mg.tensor(np.arange(n * features, dtype=np.float32).reshape(n, features))
    y = mg.tensor(np.arange(n))
    return TensorDataset(X, y)


class PairsDataset(Dataset):
    """A generic (not Tensor) dataset: sample i is (array of i's, label i)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full(2, i, dtype=np.float32), i

    def __len__(self):
        return self.n


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

def test_dataset_base_requires_getitem_and_has_no_len():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(TypeError):  # no default __len__, as in PyTorch
        len(Dataset())


def test_tensor_dataset_samples_are_rows():
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    y = np.array([3, 1, 4, 1, 5, 9])
    ds = TensorDataset(mg.tensor(X), mg.tensor(y))
    assert len(ds) == 6
    x2, y2 = ds[2]
    np.testing.assert_array_equal(x2.numpy(), X[2])
    assert y2.item() == 4
    xs, ys = ds[-1]
    np.testing.assert_array_equal(xs.numpy(), X[-1])
    assert ys.item() == 9


def test_tensor_dataset_size_mismatch_names_the_sizes():
    # AssertionError is PyTorch's type; our message also names the sizes.
    with pytest.raises(AssertionError, match=r"Size mismatch between tensors.*\[3, 4\]"):
        TensorDataset(mg.zeros(3, 2), mg.zeros(4))
    with pytest.raises(AssertionError, match=r"\[5, 5, 2\]"):
        TensorDataset(mg.zeros(5), mg.zeros(5, 1), mg.zeros(2, 5))
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        torch.utils.data.TensorDataset(torch.zeros(3, 2), torch.zeros(4))


def test_tensor_dataset_rejects_non_tensors_and_scalars():
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(mg.zeros(3), np.zeros(3))
    # IndexError, as PyTorch's TensorDataset gives for both.
    with pytest.raises(IndexError, match="0-d"):
        TensorDataset(mg.tensor(1.0))
    with pytest.raises(IndexError):
        TensorDataset()


def test_subset_indexes_through():
    ds = make_dataset(8)
    sub = Subset(ds, [5, 0, 7])
    assert len(sub) == 3
    assert sub[0][1].item() == 5
    assert sub[2][1].item() == 7
    # A list index goes to the dataset as one list, as in PyTorch: rows 0 and 7 together.
    X, y = sub[[1, 2]]
    assert y.numpy().tolist() == [0, 7] and X.shape == (2, 3)


# --------------------------------------------------------------------------------------------
# random_split
# --------------------------------------------------------------------------------------------

def test_random_split_counts_partition_the_dataset():
    ds = make_dataset(10)
    parts = random_split(ds, [3, 7])
    assert [len(p) for p in parts] == [3, 7]
    labels = [p[i][1].item() for p in parts for i in range(len(p))]
    assert sorted(labels) == list(range(10))


@pytest.mark.parametrize("n, fractions, expected", [
    (10, [0.3, 0.3, 0.4], [3, 3, 4]),
    (11, [0.3, 0.3, 0.4], [4, 3, 4]),  # leftovers go to the first splits in turn
    (7, [0.5, 0.5], [4, 3]),
    (5, [1.0], [5]),
    (3, [0.1, 0.9], [1, 2]),
])
def test_random_split_fractions_follow_pytorch(n, fractions, expected):
    parts = random_split(range(n), fractions)
    assert [len(p) for p in parts] == expected
    assert sorted(x for p in parts for x in (p[i] for i in range(len(p)))) == list(range(n))


@pytest.mark.filterwarnings("ignore:Length of split")
def test_random_split_fractions_match_torch():
    torch = pytest.importorskip("torch")
    for n in [0, 1, 7, 10, 11, 97]:
        for fractions in [[0.3, 0.3, 0.4], [0.5, 0.5], [0.8, 0.1, 0.1], [1 / 3] * 3]:
            ours = [len(p) for p in random_split(range(n), fractions)]
            theirs = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
            assert ours == theirs, (n, fractions)


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [0.5, 0.6])
    with pytest.raises(ValueError, match="index 1"):
        random_split(range(10), [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="index 1 is 0"):
        random_split(range(2), [0.5, 0.0, 0.5])


def test_random_split_is_reproducible_under_manual_seed():
    mg.manual_seed(3)
    first = [list(p.indices) for p in random_split(range(20), [5, 15])]
    mg.manual_seed(3)
    second = [list(p.indices) for p in random_split(range(20), [5, 15])]
    assert first == second
    third = [list(p.indices) for p in random_split(range(20), [5, 15],
                                                     generator=np.random.default_rng(3))]
    fourth = [list(p.indices) for p in random_split(range(20), [5, 15],
                                                     generator=np.random.default_rng(3))]
    assert third == fourth


# --------------------------------------------------------------------------------------------
# DataLoader over a TensorDataset
# --------------------------------------------------------------------------------------------

def _epoch_labels(loader):
    return [batch[1].numpy().tolist() for batch in loader]


def _flat(batches):
    return [label for batch in batches for label in batch]


def test_sequential_batches_cover_the_data_in_order():
    ds = make_dataset(10)
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    for batch in batches:
        assert isinstance(batch, list) and len(batch) == 2
        assert all(isinstance(t, mg.Tensor) for t in batch)
        assert batch[0].dtype == mg.float32 and batch[1].dtype == mg.int64
    X = np.concatenate([b[0].numpy() for b in batches])
    np.testing.assert_array_equal(X, ds.tensors[0].numpy())
    assert _epoch_labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _epoch_labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    exact = DataLoader(make_dataset(8), batch_size=4, drop_last=True)
    assert len(exact) == 2 and len(list(exact)) == 2
    too_big = DataLoader(make_dataset(3), batch_size=4, drop_last=True)
    assert len(too_big) == 0 and list(too_big) == []


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64])
@pytest.mark.parametrize("batch_size", [1, 3, 8, 100])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_matches_number_of_batches_and_torch(n, batch_size, drop_last):
    loader = DataLoader(make_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(list(loader))
    expected = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loader) == expected
    torch = pytest.importorskip("torch")
    ref = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(n)),
                                      batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(ref)


def test_batches_do_not_alias_the_dataset():
    ds = make_dataset(6)
    for shuffle in (False, True):
        batch = next(iter(DataLoader(ds, batch_size=3, shuffle=shuffle)))
        batch[0].data[...] = -1
        assert (ds.tensors[0].numpy() >= 0).all()


def test_tensor_dataset_fast_path_never_indexes_sample_by_sample(monkeypatch):
    def one_by_one(self, index):
        raise AssertionError("the fast path should not call TensorDataset.__getitem__")

    monkeypatch.setattr(TensorDataset, "__getitem__", one_by_one)
    ds = make_dataset(10)
    assert sum(len(b[1]) for b in DataLoader(ds, batch_size=3, shuffle=True)) == 10
    sub = Subset(ds, [9, 8, 7])
    assert _epoch_labels(DataLoader(sub, batch_size=2)) == [[9, 8], [7]]


def test_fast_path_equals_the_generic_path():
    ds = make_dataset(13, features=2)

    class Wrapped(Dataset):  # same samples, but not a TensorDataset: takes the generic path
        def __getitem__(self, i):
            return ds[i]

        def __len__(self):
            return len(ds)

    mg.manual_seed(5)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True))
    mg.manual_seed(5)
    slow = list(DataLoader(Wrapped(), batch_size=4, shuffle=True))
    assert len(fast) == len(slow) == 4
    for a, b in zip(fast, slow):
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_subsets_of_subsets_give_the_right_rows():
    ds = make_dataset(20)
    outer = Subset(ds, np.arange(20)[::-1])   # 19, 18, ..., 0
    inner = Subset(outer, [0, 5, 10, 19])     # 19, 14, 9, 0
    (X, y), = list(DataLoader(inner, batch_size=4))
    assert y.numpy().tolist() == [19, 14, 9, 0]
    np.testing.assert_array_equal(X.numpy(), ds.tensors[0].numpy()[[19, 14, 9, 0]])
    train, _ = random_split(ds, [0.75, 0.25])
    seen = [label for _, y in DataLoader(train, batch_size=4) for label in y.numpy().tolist()]
    assert seen == list(train.indices)


def test_shuffle_each_epoch_is_a_fresh_permutation():
    loader = DataLoader(make_dataset(50), batch_size=8, shuffle=True)
    epochs = [_flat(_epoch_labels(loader)) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(50))
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]
    assert epochs[0] != list(range(50))


def test_shuffle_is_reproducible_under_manual_seed():
    loader = DataLoader(make_dataset(30), batch_size=7, shuffle=True)
    mg.manual_seed(42)
    first = [_epoch_labels(loader) for _ in range(2)]
    mg.manual_seed(42)
    second = [_epoch_labels(loader) for _ in range(2)]
    assert first == second
    mg.manual_seed(43)
    assert [_epoch_labels(loader) for _ in range(2)] != first


def _seed_draw(rng):
    return int(rng.integers(2**63 - 1, dtype=np.int64))


def test_shuffle_follows_pytorchs_seed_draws():
    """PyTorch's rule: each iterator draws base_seed from the generator, then the
    RandomSampler (no generator of its own) draws a seed and shuffles with a fresh generator
    made from it; so the order is pinned by mg.manual_seed."""
    loader = DataLoader(make_dataset(12), batch_size=12, shuffle=True)
    mg.manual_seed(7)
    order = _epoch_labels(loader)[0]
    reference = np.random.default_rng(7)
    _seed_draw(reference)  # base_seed
    expected = np.random.default_rng(_seed_draw(reference)).permutation(12).tolist()
    assert order == expected


def test_own_generator_leaves_the_global_one_alone():
    mg.manual_seed(0)
    control = mg.random.generator().random()
    mg.manual_seed(0)
    loader = DataLoader(make_dataset(10), batch_size=10, shuffle=True,
                        generator=mg.random.Generator().manual_seed(9))
    order = _epoch_labels(loader)[0]
    reference = np.random.default_rng(9)
    _seed_draw(reference)  # base_seed comes from the loader's generator too
    assert order == reference.permutation(10).tolist()
    assert mg.random.generator().random() == control


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, [4]])
def test_batch_size_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_dataset(4), batch_size=bad)


def test_numpy_integer_batch_size_is_refused_like_torch():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_dataset(10), batch_size=np.int64(5))
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="batch_size"):
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(10)),
                                    batch_size=np.int64(5))


def test_option_conflicts_are_errors():
    ds = make_dataset(4)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)


def test_sampler_and_batch_sampler():
    ds = make_dataset(6)
    assert _epoch_labels(DataLoader(ds, batch_size=2, sampler=[5, 3, 1, 0])) == [[5, 3], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[2, 2], [0, 4, 5]])
    assert len(loader) == 2
    assert _epoch_labels(loader) == [[2, 2], [0, 4, 5]]


def test_batch_size_none_yields_single_samples():
    loader = DataLoader(PairsDataset(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 == len(samples)
    x, label = samples[1]
    assert isinstance(x, mg.Tensor) and x.shape == (2,) and label == 1


def test_pytorch_style_arguments_are_accepted():
    loader = DataLoader(make_dataset(5), 2, True, num_workers=2, pin_memory=True,
                        persistent_workers=False, prefetch_factor=None, timeout=20)
    with pytest.warns(UserWarning, match="pin_memory"):  # no accelerator: as in PyTorch
        assert sorted(_flat(_epoch_labels(loader))) == list(range(5))


def test_custom_collate_fn():
    def collate(samples):
        return len(samples)

    assert list(DataLoader(make_dataset(5), batch_size=2, collate_fn=collate)) == [2, 2, 1]


def test_batches_from_a_dataset_that_requires_grad_carry_gradient():
    X = mg.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    ds = TensorDataset(X, mg.tensor(np.arange(4)))
    total = None
    for xb, _ in DataLoader(ds, batch_size=3, shuffle=True):
        loss = (xb * xb).sum()
        total = loss if total is None else total + loss
    total.backward()
    np.testing.assert_allclose(X.grad.numpy(), 2 * np.arange(8.0).reshape(4, 2))


# --------------------------------------------------------------------------------------------
# Generic datasets and default_collate
# --------------------------------------------------------------------------------------------

def test_generic_dataset_batches():
    loader = DataLoader(PairsDataset(5), batch_size=2)
    batches = list(loader)
    assert len(batches) == 3
    x, labels = batches[0]
    assert x.dtype == mg.float32 and x.shape == (2, 2)
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [1, 1]])
    assert labels.dtype == mg.int64 and labels.numpy().tolist() == [0, 1]
    assert batches[2][1].numpy().tolist() == [4]


def test_default_collate_by_hand():
    batch = default_collate([{"x": 1.5, "n": 2, "flag": True, "name": "a"},
                             {"x": -0.5, "n": 7, "flag": False, "name": "b"}])
    assert batch["x"].dtype == mg.float64 and batch["x"].numpy().tolist() == [1.5, -0.5]
    assert batch["n"].dtype == mg.int64 and batch["n"].numpy().tolist() == [2, 7]
    assert batch["flag"].dtype == mg.bool and batch["flag"].numpy().tolist() == [True, False]
    assert batch["name"] == ["a", "b"]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="found"):
        default_collate([object()])


Sample = collections.namedtuple("Sample", "x y")

COLLATE_CASES = {
    "python floats": lambda np_, T: [1.5, 2.25, -3.0],
    "python ints": lambda np_, T: [1, 2, 3],
    "bools": lambda np_, T: [True, False],
    "ints and floats": lambda np_, T: [1, 2.5],
    "float32 scalars": lambda np_, T: [np_.float32(1.5), np_.float32(2)],
    "float64 scalars": lambda np_, T: [np_.float64(1.5), np_.float64(2)],
    "int32 arrays": lambda np_, T: [np_.array([1, 2], dtype=np_.int32)] * 3,
    "0-d arrays": lambda np_, T: [np_.array(1.0), np_.array(2.0)],
    "float32 tensors": lambda np_, T: [T(np_.ones((2, 3), np_.float32)),
                                       T(np_.zeros((2, 3), np_.float32))],
    "int64 tensors": lambda np_, T: [T(np_.arange(3)), T(np_.arange(3, 6))],
    "0-d tensors": lambda np_, T: [T(np_.array(1.0, np_.float32)),
                                   T(np_.array(2.0, np_.float32))],
    "(tensor, int) tuples": lambda np_, T: [(T(np_.ones(2, np_.float32)), 1),
                                            (T(np_.zeros(2, np_.float32)), 0)],
    "(array, float) lists": lambda np_, T: [[np_.ones(2), 0.5], [np_.zeros(2), 1.5]],
    "dicts": lambda np_, T: [{"x": T(np_.ones(3, np_.float32)), "y": 3, "w": 0.25},
                             {"x": T(np_.zeros(3, np_.float32)), "y": 4, "w": 0.75}],
    "nested": lambda np_, T: [{"a": [(1, 2.0), (3, 4.0)]}, {"a": [(5, 6.0), (7, 8.0)]}],
    "namedtuples": lambda np_, T: [Sample(T(np_.ones(2, np_.float32)), 1),
                                   Sample(T(np_.zeros(2, np_.float32)), 0)],
    "strings": lambda np_, T: ["cat", "dog"],
}


def _to_comparable(batch, tensor_type, to_numpy):
    """Turn a collated batch (ours or torch's) into nested Python of (dtype name, values)."""
    if isinstance(batch, tensor_type):
        array = to_numpy(batch)
        return ("tensor", array.dtype.name, array.shape, array.tolist())
    if isinstance(batch, dict):
        return {k: _to_comparable(v, tensor_type, to_numpy) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__,
                [_to_comparable(v, tensor_type, to_numpy) for v in batch])
    if isinstance(batch, (list, tuple)):
        return [type(batch).__name__] + [_to_comparable(v, tensor_type, to_numpy) for v in batch]
    return batch


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    make = COLLATE_CASES[case]
    ours = default_collate(make(np, mg.tensor))
    theirs = torch_collate(make(np, torch.as_tensor))
    assert (_to_comparable(ours, mg.Tensor, lambda t: t.numpy())
            == _to_comparable(theirs, torch.Tensor, lambda t: t.numpy()))


def test_generic_loader_matches_torch_loader():
    torch = pytest.importorskip("torch")

    class Mixed(Dataset):
        def __getitem__(self, i):
            return {"x": np.full(3, i, dtype=np.float32), "label": i % 3, "weight": i / 10}

        def __len__(self):
            return 7

    ours = list(DataLoader(Mixed(), batch_size=3))
    theirs = list(torch.utils.data.DataLoader(Mixed(), batch_size=3))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert (_to_comparable(a, mg.Tensor, lambda t: t.numpy())
                == _to_comparable(b, torch.Tensor, lambda t: t.numpy()))
