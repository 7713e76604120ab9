"""minigrad's public API as the documentation sees it, computed from the packages' ``__all__``.

The API reference (``minigrad_api.py``, a Sphinx extension) and the docstring test
(``tests/test_docs.py``) both read this list, so a name added to an ``__all__`` appears in the
reference, and must have a docstring, without anyone editing the docs.

The walk starts at ``minigrad``. Every name in a module's ``__all__`` that is itself a module
is a public submodule and is walked in turn; every other name (but those starting with ``_``)
is a public object of that module. A module without ``__all__`` exports the classes and
functions it defines. A submodule all of whose names its parent already exports (PyTorch's
``torch.autograd.grad_mode`` and the like) gets no page of its own.

An object reachable under several names (``mg.float`` is ``mg.float32``, ``mg.no_grad`` is
``mg.autograd.no_grad``) is documented once, under the first name the walk meets; the others
are aliases pointing there (documenting a class twice would register its canonical name twice).
"""
import importlib
import inspect
import types
from dataclasses import dataclass, field

ROOT = "minigrad"

# Modules listed in an ``__all__`` (as PyTorch lists them) that hold the engine's own
# bookkeeping rather than user-facing API: their public classes are exported elsewhere
# (``minigrad.autograd.Op``), so they get no page.
INTERNAL_MODULES = {
    "minigrad.autograd.graph": "the graph's bookkeeping; its node class is minigrad.autograd.Op",
}

# Classes big enough for a page of their own (the other classes are documented inline on their
# module's page, with their members).
OWN_PAGE_CLASSES = ("minigrad.Tensor",)


@dataclass
class Entry:
    """One public name: ``module.name`` refers to ``obj``; ``alias_of`` is the full name it is
    documented under when that is another name."""

    module: str
    name: str
    obj: object
    kind: str  # "class", "function", "data"
    alias_of: str = ""

    @property
    def fullname(self):
        return f"{self.module}.{self.name}"


@dataclass
class Page:
    """A module's page: its entries, in ``__all__`` order."""

    module: str
    entries: list = field(default_factory=list)

    @property
    def slug(self):
        return self.module.replace(".", "_")


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _identity_key(obj):
    # Plain numbers and strings are equal by value, not the same thing documented twice.
    if isinstance(obj, (int, float, str, bytes, tuple, frozenset, type(None))):
        return None
    return id(obj)


def exported_names(module):
    """The names ``module`` exports: its ``__all__`` (without duplicates, in order), else the
    classes and functions it defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if (inspect.isclass(v) or inspect.isfunction(v))
                 and getattr(v, "__module__", None) == module.__name__]
    return list(dict.fromkeys(names))


def public_modules():
    """The public modules, parent before child, as ``(name, module)`` pairs."""
    order = []
    pending = [ROOT]
    while pending:
        name = pending.pop(0)
        module = importlib.import_module(name)
        order.append((name, module))
        for member in exported_names(module):
            value = getattr(module, member)
            if isinstance(value, types.ModuleType):
                child = f"{name}.{member}"
                if value.__name__ == child and child not in INTERNAL_MODULES:
                    pending.append(child)
    return order


def _own_name(obj):
    """The name an object calls itself (``abs`` for ``mg.absolute``, ``float32`` for the
    dtype ``mg.float``), or None."""
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):
        return name
    text = str(obj)
    return text.rsplit(".", 1)[-1] if text.startswith(ROOT + ".") else None


def _home_names(modules):
    """For each object reachable under several names, the one it is documented under: the
    first name (in walk order) that is the object's own name, else the first name."""
    candidates = {}
    for modname, module in modules:
        for name in exported_names(module):
            obj = getattr(module, name)
            key = _identity_key(obj)
            if key is not None and not name.startswith("_") \
                    and not isinstance(obj, types.ModuleType):
                candidates.setdefault(key, []).append((name, f"{modname}.{name}", obj))
    homes = {}
    for key, names in candidates.items():
        own = [full for name, full, obj in names if name == _own_name(obj)]
        homes[key] = own[0] if own else names[0][1]
    return homes


def pages():
    """The API reference's module pages, with every public object of each."""
    modules = public_modules()
    documented = _home_names(modules)  # identity key -> full name it is documented under
    result = []
    for modname, module in modules:
        parent = None
        if "." in modname:
            parent = importlib.import_module(modname.rsplit(".", 1)[0])
        page = Page(modname)
        for name in exported_names(module):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                continue
            if parent is not None and name in exported_names(parent) \
                    and getattr(parent, name) is obj:
                continue  # a submodule's name that its parent exports: documented there
            entry = Entry(modname, name, obj, _kind(obj))
            key = _identity_key(obj)
            if key is not None and documented[key] != entry.fullname:
                entry.alias_of = documented[key]
            page.entries.append(entry)
        if page.entries:
            result.append(page)
    return result


def tensor_members():
    """The public attributes of ``minigrad.Tensor`` (methods, properties), sorted."""
    from minigrad import Tensor

    return sorted(n for n in dir(Tensor) if not n.startswith("_"))


def all_documented_objects():
    """``(full name, object)`` for every name the reference documents with its own docstring:
    each entry that is not an alias, and every public attribute of Tensor."""
    from minigrad import Tensor

    out = []
    for page in pages():
        for entry in page.entries:
            if not entry.alias_of:
                out.append((entry.fullname, entry.obj))
    for name in tensor_members():
        attr = inspect.getattr_static(Tensor, name)
        if isinstance(attr, property):
            attr = attr.fget
        out.append((f"minigrad.Tensor.{name}", getattr(attr, "__func__", attr)))
    return out
