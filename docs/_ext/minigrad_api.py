"""Sphinx extension: minigrad's API reference, generated from the packages' ``__all__``.

At ``builder-inited`` it writes one small page per public module (``api/generated/*.rst``, in
the source folder the build reads: ``scripts/build_docs.sh`` builds from a temporary copy of
``docs/``), each holding a ``minigrad-api`` directive. The directive expands, when the page is
read, into a summary table and the autodoc entry of every public name of that module, grouped
by the file that defines them. The list of names comes from ``public_api.pages()``, the same
list ``tests/test_docs.py`` checks for docstrings, so nothing public can be left out.
"""
import importlib
import inspect
from pathlib import Path

import public_api
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

GENERATED = Path("api") / "generated"

# Section titles for the files that define public names (others use the module's name).
GROUP_TITLES = {
    "minigrad.functions.creation": "Creation, random sampling and dtypes",
    "minigrad.functions.elementwise": "Elementwise math, comparisons and bitwise ops",
    "minigrad.functions.reduce": "Reductions, sorting and cumulative ops",
    "minigrad.functions.index": "Indexing, gathering and scattering",
    "minigrad.functions.shape": "Views, joins and splits",
    "minigrad.functions.linalg": "Products and linear algebra",
    "minigrad.functions.activation": "Activations and dropout",
    "minigrad.tensor": "Tensors",
    "minigrad.dtypes": "Data types",
    "minigrad.autograd.grad_mode": "Gradient modes",
    "minigrad.serialization": "Checkpoints",
    "minigrad.safetensors": "safetensors files",
    "minigrad.interop": "DLPack and foreign arrays",
    "minigrad.random": "Random number generation",
    "minigrad.errors": "Errors",
    "minigrad.nn.module": "Module, Parameter and Buffer",
    "minigrad.nn.layers": "Basic layers",
    "minigrad.nn.containers": "Containers",
    "minigrad.nn.activation": "Activations",
    "minigrad.nn.dropout": "Dropout",
    "minigrad.nn.conv": "Convolution, pooling, padding and resampling",
    "minigrad.nn.normalization": "Normalization",
    "minigrad.nn.sparse": "Embeddings",
    "minigrad.nn.rnn": "Recurrent layers",
    "minigrad.nn.attention": "Attention",
    "minigrad.nn.transformer": "Transformer",
    "minigrad.nn.losses.modules": "Losses",
    "minigrad.nn.losses.classification": "Losses",
    "minigrad.nn.losses.pointwise": "Losses",
    "minigrad.nn.losses.divergence": "Losses",
    "minigrad.nn.losses.margin": "Losses",
    "minigrad.nn.losses.ctc": "Losses",
}

TITLES = {
    "minigrad": "minigrad (the torch namespace)",
    "minigrad.Tensor": "minigrad.Tensor",
}


def _group(entry):
    if entry.alias_of:
        return "aliases"
    module = getattr(entry.obj, "__module__", None)
    if entry.kind == "data" or not isinstance(module, str):
        module = type(entry.obj).__module__
    return module


def _group_title(group):
    if group == "aliases":
        return "Aliases"
    if group in GROUP_TITLES:
        return GROUP_TITLES[group]
    if not group.startswith(public_api.ROOT):
        return "Other names"
    module = importlib.import_module(group)
    summary = (inspect.getdoc(module) or "").strip().split("\n")[0].rstrip(".:")
    return summary if summary and len(summary) < 70 else group


def _underline(text, char):
    return [text, char * len(text), ""]


def page_lines(page):
    """The reStructuredText of one module's page (below its title)."""
    lines = [f".. automodule:: {page.module}", "   :no-members:", "   :no-index:", "",
             f".. currentmodule:: {page.module}", ""]
    groups = {}
    for entry in page.entries:
        groups.setdefault(_group(entry), []).append(entry)
    merged = {}
    for group, entries in groups.items():  # groups that share a title share a section
        merged.setdefault(_group_title(group), []).extend(entries)
    for title, entries in merged.items():
        lines += _underline(title, "-")
        lines += [".. autosummary::", "   :nosignatures:", ""]
        # (a constant's summary would be its type's docstring: constants are listed below only)
        lines += [f"   {e.name}" for e in entries if e.kind != "data" or e.alias_of] + [""]
        for entry in entries:
            lines += _entry_lines(entry)
    return lines


def _entry_lines(entry):
    if entry.alias_of:
        directive = {"class": "py:class", "function": "py:function"}.get(entry.kind, "py:data")
        return [f".. {directive}:: {entry.name}", "",
                f"   Alias of :py:obj:`{entry.alias_of}`.", ""]
    if entry.fullname in public_api.OWN_PAGE_CLASSES:
        return []  # the summary links to its own page
    if entry.kind == "class":
        return [f".. autoclass:: {entry.name}", "   :members:", "   :show-inheritance:", ""]
    if entry.kind == "function":
        return [f".. autofunction:: {entry.name}", ""]
    return [f".. py:data:: {entry.name}", f"   :type: {_type_name(entry.obj)}", "",
            f"   {_data_description(entry.obj)}", ""]


def _type_name(obj):
    kind = type(obj)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _data_description(obj):
    """What a public constant holds: its value, or for a dict its keys. (autodoc would show
    the docstring of the value's type, e.g. ``dict``'s, which says nothing about it.)"""
    if isinstance(obj, dict):
        return "Keys: " + ", ".join(f"``{key!r}``" for key in obj) + "."
    return f"``{obj!r}``"


def tensor_lines():
    members = public_api.tensor_members()
    lines = [".. currentmodule:: minigrad", "",
             ".. autoclass:: Tensor", "   :no-members:", "",
             *_underline("Summary", "-"),
             ".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   Tensor.{name}" for name in members] + [""]
    lines += _underline("Attributes and methods", "-")
    for name in members:
        lines += [f".. automethod:: Tensor.{name}", ""] if _is_method(name) else \
                 [f".. autoproperty:: Tensor.{name}", ""]
    return lines


def _is_method(name):
    from minigrad import Tensor

    return not isinstance(inspect.getattr_static(Tensor, name), property)


class MinigradApi(SphinxDirective):
    """``.. minigrad-api:: minigrad.nn``: every public name of that module."""

    required_arguments = 1

    def run(self):
        module = self.arguments[0]
        if module == "minigrad.Tensor":
            lines = tensor_lines()
        else:
            found = [p for p in public_api.pages() if p.module == module]
            if not found:
                raise self.error(f"minigrad-api: {module} is not a public module")
            lines = page_lines(found[0])
        container = nodes.section()
        container.document = self.state.document
        source = self.get_source_info()[0]
        content = StringList(lines, source=source)
        nested_parse_with_titles(self.state, content, container)
        return container.children


def write_pages(app):
    """One page per public module, and Tensor's, in ``api/generated`` of the source folder."""
    folder = Path(app.srcdir) / GENERATED
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {}
    modules = [page.module for page in public_api.pages()]
    modules.insert(1, "minigrad.Tensor")
    for index, module in enumerate(modules):
        title = TITLES.get(module, module)
        # the file names keep the walk's order in the glob'd toctree
        name = f"{index:02d}_{module.replace('.', '_')}.rst"
        wanted[name] = "\n".join([*_underline(title, "="), f".. minigrad-api:: {module}", ""])
    for stale in folder.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup(app):
    app.add_directive("minigrad-api", MinigradApi)
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
