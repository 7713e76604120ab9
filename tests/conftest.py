import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    """Run a test once on the compiled kernels and once on their plain-numpy twins."""
    previous = _kernels.backend_name
    _kernels.use(request.param)
    yield request.param
    _kernels.use(previous)


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)
    np.random.seed(0)
