"""Regenerate the loosely typed block of minigrad/tensor.pyi from the Tensor class at runtime.

Tensor's methods come partly from tensor.py and partly from minigrad/functions/*.py (attached
at import time), so the stub cannot be written once: every public attribute of the class that
the hand-typed part of the stub does not declare is listed in the generated block, as a method
taking and returning Any (or a property of type Any). Run after adding Tensor methods:

    python scripts/gen_tensor_stub.py          # rewrite the block
    python scripts/gen_tensor_stub.py --check  # exit 1 if the stub is out of date
"""
import ast
import inspect
import pathlib
import sys

STUB = pathlib.Path(__file__).resolve().parent.parent / "minigrad" / "tensor.pyi"
BEGIN = "    # ----- generated: begin (python scripts/gen_tensor_stub.py) -----\n"
END = "    # ----- generated: end -----\n"
# Dunders every class has, or that are not part of the typed interface.
SKIP = {"__doc__", "__module__", "__slots__", "__weakref__", "__array_ufunc__", "__init__",
        "__repr__", "__format__", "__dict__", "__class__"}


def declared_names(text):
    """The names the stub's Tensor class declares (hand-typed and generated)."""
    tree = ast.parse(text)
    cls = next(node for node in tree.body
               if isinstance(node, ast.ClassDef) and node.name == "Tensor")
    names = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def runtime_names():
    from minigrad import Tensor

    names = {name for name in dir(Tensor) if not name.startswith("_")}
    names |= {name for name in vars(Tensor)
              if name.startswith("__") and name.endswith("__") and name not in SKIP}
    return names


def hand_written(text):
    return text[:text.index(BEGIN)] + text[text.index(END):]


def generated_block(text):
    from minigrad import Tensor

    lines = []
    for name in sorted(runtime_names() - declared_names(hand_written(text))):
        member = inspect.getattr_static(Tensor, name)
        if isinstance(member, property):
            lines.append(f"    @property\n    def {name}(self) -> Any: ...\n")
        elif callable(member) or isinstance(member, (staticmethod, classmethod)):
            lines.append(f"    def {name}(self, *args: Any, **kwargs: Any) -> Any: ...\n")
        else:
            lines.append(f"    {name}: Any\n")
    return "".join(lines)


def updated(text):
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + generated_block(text) + text[end:]


def problems(text):
    """Names the stub declares that the class does not have."""
    from minigrad import Tensor

    return sorted(name for name in declared_names(text)
                  if not hasattr(Tensor, name) and name not in ("__hash__",))


def main(argv):
    text = STUB.read_text()
    new = updated(text)
    missing = problems(new)
    if missing:
        print(f"{STUB} declares names Tensor does not have: {', '.join(missing)}")
        return 1
    if "--check" in argv:
        if new != text:
            print(f"{STUB} is out of date: run python scripts/gen_tensor_stub.py")
            return 1
        return 0
    STUB.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
