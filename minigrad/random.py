"""The global random number generator behind every random function and layer init.

``mg.manual_seed(s)`` replaces it with a fresh ``np.random.Generator`` seeded with ``s``, so
``mg.rand``, ``mg.randn``, ``mg.randint``, ``mg.randperm``, ``nn.init``, ``Dropout`` and
``DataLoader(shuffle=True)`` are all reproducible from one seed.
"""
import numpy as np

_generator = None  # made on first use: numpy.random costs ~5 ms to import, keep it off `import minigrad`
_initial_seed = None


def manual_seed(seed):
    """Seed minigrad's global generator (like torch.manual_seed). Returns the generator."""
    global _generator, _initial_seed
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
    _initial_seed = seed
    _generator = np.random.default_rng(seed)
    return _generator


def seed():
    """Seed the global generator from the operating system's entropy; returns the seed used."""
    new_seed = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(new_seed)
    return new_seed


def initial_seed():
    return _initial_seed


def generator():
    """The current global ``np.random.Generator`` (seeded from the OS if never seeded)."""
    global _generator
    if _generator is None:
        _generator = np.random.default_rng()
    return _generator


class Generator(np.random.Generator):
    """A random number generator object, like ``torch.Generator``: pass it as ``generator=`` to
    the random functions, samplers, ``random_split`` and ``DataLoader`` to draw from a stream of
    its own instead of the global one.

    It is an ``np.random.Generator`` (PCG64), so everything that takes one takes it;
    ``Generator().manual_seed(s)`` draws exactly what ``np.random.default_rng(s)`` draws.
    Unlike the global generator, an unseeded ``Generator()`` starts from the fixed default seed
    67280421310721, as ``torch.Generator()`` does.
    """

    _DEFAULT_SEED = 67280421310721

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError(f"minigrad only supports the CPU; got device={device!r}")
        super().__init__(np.random.PCG64(self._DEFAULT_SEED))
        self._seed = self._DEFAULT_SEED

    @property
    def device(self):
        return "cpu"

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (a non-negative int); returns the generator."""
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        self.bit_generator.state = np.random.PCG64(seed).state
        self._seed = seed
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the seed used."""
        new_seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state (a dict, numpy's bit-generator state), for ``set_state``."""
        return self.bit_generator.state

    def set_state(self, new_state):
        self.bit_generator.state = new_state
        return self
