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
