"""Random number generators: ``mg.Generator`` and the default generator behind every random
function and layer init.

``mg.manual_seed(s)`` reseeds the default generator, so ``mg.rand``, ``mg.randn``,
``mg.randint``, ``mg.randperm``, ``mg.normal``, ``mg.bernoulli``, ``mg.multinomial``, the
in-place samplers (``t.normal_()``...), ``nn.init``, ``Dropout`` and ``DataLoader(shuffle=True)``
are all reproducible from one seed. As in PyTorch, a program that never seeds draws from a
default generator seeded from the operating system's entropy (``mg.initial_seed()`` tells which
seed), while a new ``mg.Generator()`` starts from the fixed seed 67280421310721.

The streams are numpy's (PCG64), not PyTorch's (mt19937 and Philox): the same seed gives the
same numbers in minigrad on every run and platform, but not the numbers PyTorch draws.
"""
from __future__ import annotations

import operator

import numpy as np

_DEFAULT_SEED = 67280421310721   # torch.Generator()'s initial seed
_STATE_SIZE = 48                 # bytes of a state tensor, see Generator.get_state


def _seed_value(seed):
    """PyTorch's reading of a seed: an int in [-2**63, 2**64); negative seeds wrap to
    2**64 + seed (so -1 is 2**64 - 1)."""
    try:
        seed = operator.index(seed)
    except TypeError:
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}") from None
    if not -2**63 <= seed < 2**64:
        raise ValueError("Overflow when unpacking long long")
    return seed % 2**64


def _entropy_seed():
    return int(np.random.SeedSequence().entropy % 2**64)


class Generator(np.random.Generator):
    """A random number generator object, like ``torch.Generator``: pass it as ``generator=`` to
    the random functions, samplers, ``random_split`` and ``DataLoader`` to draw from a stream of
    its own instead of the default one.

    It is an ``np.random.Generator`` (PCG64), so everything that takes one takes it;
    ``Generator().manual_seed(s)`` draws exactly what ``np.random.default_rng(s)`` draws.
    An unseeded ``Generator()`` starts from the fixed default seed 67280421310721, as
    ``torch.Generator()`` does.
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"minigrad only supports the CPU; got device={device!r}")
        super().__init__(np.random.PCG64(_DEFAULT_SEED))
        self._seed = _DEFAULT_SEED

    @property
    def device(self):
        from .tensor import device
        return device("cpu")

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int in [-2**63, 2**64); negative seeds wrap
        around as in PyTorch); returns the generator."""
        seed = _seed_value(seed)
        self.bit_generator.state = np.random.PCG64(seed).state
        self._seed = seed
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the seed used."""
        new_seed = _entropy_seed()
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self):
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (``torch.Generator.get_state``), for
        ``set_state``: 48 bytes, little-endian: the PCG64 state (16) and increment (16), the
        buffered 32-bit half (4 + 4) and the initial seed (8)."""
        from .tensor import _wrap
        state = self.bit_generator.state
        raw = (state["state"]["state"].to_bytes(16, "little")
               + state["state"]["inc"].to_bytes(16, "little")
               + int(state["has_uint32"]).to_bytes(4, "little")
               + int(state["uinteger"]).to_bytes(4, "little")
               + self._seed.to_bytes(8, "little"))
        return _wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state made by ``get_state`` (a uint8 tensor); returns the generator."""
        from .tensor import Tensor
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a minigrad.ByteTensor, but got "
                            f"{type(new_state).__name__}")
        data = new_state._data
        if data.dtype != np.uint8:
            raise TypeError("RNG state must be a minigrad.ByteTensor")
        if data.size != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but "
                               f"found the input RNG state size to be {data.size}")
        raw = np.ascontiguousarray(data).reshape(-1).tobytes()
        inc = int.from_bytes(raw[16:32], "little")
        if inc % 2 == 0:  # PCG64 increments are odd; numpy would silently change it
            raise RuntimeError("set_state: the RNG state is invalid (not made by get_state)")
        self.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[0:16], "little"), "inc": inc},
            "has_uint32": int.from_bytes(raw[32:36], "little") & 1,
            "uinteger": int.from_bytes(raw[36:40], "little"),
        }
        self._seed = int.from_bytes(raw[40:48], "little")
        return self


# The default generator (``torch.default_generator``): seeded from entropy, as PyTorch's is.
default_generator = Generator()
default_generator.manual_seed(_entropy_seed())


def generator():
    """The default generator (an ``mg.Generator``, hence an ``np.random.Generator``)."""
    return default_generator


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``torch.manual_seed``: ``int(seed)`` first, so "3" and 3.5
    are accepted); returns it."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last started from."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state, a uint8 tensor (``torch.get_rng_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the default generator's state from ``get_rng_state()``."""
    default_generator.set_state(new_state)
