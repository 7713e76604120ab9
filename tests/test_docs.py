"""Every public name of minigrad has a docstring of its own (the API reference is generated
from the packages' ``__all__`` by docs/_ext/public_api.py, which this test shares)."""
import inspect
import sys
from pathlib import Path

import pytest

DOCS_EXT = Path(__file__).resolve().parent.parent / "docs" / "_ext"


@pytest.fixture(scope="module")
def public_api():
    if not (DOCS_EXT / "public_api.py").exists():
        pytest.skip("docs/_ext/public_api.py is not here (an installed test suite without docs)")
    sys.path.insert(0, str(DOCS_EXT))
    try:
        import public_api
    finally:
        sys.path.remove(str(DOCS_EXT))
    return public_api


def _own_doc(obj):
    # A class's own docstring (inspect.getdoc would borrow a base class's, which describes
    # something else); a method's or function's own.
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return (doc or "").strip()


def test_every_public_name_has_a_docstring(public_api):
    missing = [name for name, obj in public_api.all_documented_objects()
               if (inspect.isclass(obj) or callable(obj)) and not _own_doc(obj)]
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_the_reference_covers_the_main_modules_and_tensor(public_api):
    pages = {page.module: page for page in public_api.pages()}
    for module in ("minigrad", "minigrad.nn", "minigrad.nn.functional", "minigrad.nn.init",
                   "minigrad.optim", "minigrad.optim.lr_scheduler", "minigrad.optim.swa_utils",
                   "minigrad.utils.data", "minigrad.autograd", "minigrad.autograd.functional",
                   "minigrad.linalg", "minigrad.viz", "minigrad.train"):
        assert module in pages, f"no API page for {module}"
    names = {entry.fullname for page in pages.values() for entry in page.entries}
    for name in ("minigrad.tensor", "minigrad.nn.Linear", "minigrad.nn.functional.mse_loss",
                 "minigrad.optim.Adam", "minigrad.utils.data.DataLoader",
                 "minigrad.autograd.grad", "minigrad.autograd.gradcheck",
                 "minigrad.save", "minigrad.load"):
        assert name in names, f"{name} is not in the API reference"
    members = public_api.tensor_members()
    assert {"backward", "sum", "sin_", "shape", "grad"} <= set(members)
    assert not [m for m in members if m.startswith("_")]


def test_an_object_reachable_under_two_names_is_documented_once(public_api):
    entries = [e for page in public_api.pages() for e in page.entries]
    homes = {}
    for entry in entries:
        if not entry.alias_of and not isinstance(entry.obj, (int, float, str, tuple)):
            assert id(entry.obj) not in homes, (entry.fullname, homes.get(id(entry.obj)))
            homes[id(entry.obj)] = entry.fullname
    documented = {e.fullname for e in entries if not e.alias_of}
    for entry in entries:
        if entry.alias_of:
            assert entry.alias_of in documented, entry.fullname


def test_no_docstring_turns_shapes_into_emphasis(public_api):
    # reStructuredText reads ``(*, in) ... (*, out)`` as emphasis and silently drops the stars
    # (no warning, so the -W build cannot catch it): shapes with * belong in ``literals``.
    core = pytest.importorskip("docutils.core")
    nodes = pytest.importorskip("docutils.nodes")
    seen, bad = set(), []
    for name, obj in public_api.all_documented_objects():
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        tree = core.publish_doctree(inspect.getdoc(obj) or "",
                                    settings_overrides={"report_level": 5, "halt_level": 5})
        for node in tree.findall(lambda n: isinstance(n, (nodes.emphasis, nodes.strong))):
            if any(c in node.astext() for c in "(),"):
                bad.append(f"{name}: *{node.astext()[:40]}*")
    assert not bad, bad
