"""Check an sdist's contents: everything needed to build and test minigrad, nothing generated.

    python scripts/check_sdist.py dist/minigrad_engine-0.1.0.tar.gz [SOURCE_TREE]

Every file git tracks under minigrad/, tests/, examples/, bench/ and docs/ in SOURCE_TREE (default: the
tree this script is in) must be in the sdist, with LICENSE, README.md, pyproject.toml, setup.py
and MANIFEST.in; no Cython-generated C, compiled module or recorded build option may be.
Exits non-zero, naming the files, if not.
"""
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

REQUIRED_TOP = ("LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in", "PKG-INFO")
SHIPPED_FOLDERS = ("minigrad", "tests", "examples", "bench", "docs")
FORBIDDEN_SUFFIXES = (".c", ".so", ".pyd", ".o", ".html", ".pyc")
FORBIDDEN_NAMES = ("_build_options.py",)


def sdist_members(path):
    with tarfile.open(path) as tar:
        names = [PurePosixPath(m.name) for m in tar.getmembers() if m.isfile()]
    # Drop the top folder (minigrad_engine-X.Y.Z/).
    return {PurePosixPath(*name.parts[1:]).as_posix() for name in names if len(name.parts) > 1}


def tracked_files(tree):
    result = subprocess.run(["git", "-C", str(tree), "ls-files", *SHIPPED_FOLDERS],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:  # not a git checkout: what is on disk, less generated files
        return {p.relative_to(tree).as_posix() for folder in SHIPPED_FOLDERS
                for p in (tree / folder).rglob("*")
                if p.is_file() and p.suffix in (".py", ".pyx", ".pxd", ".pxi")
                and p.name not in FORBIDDEN_NAMES}
    return set(result.stdout.split())


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    sdist = Path(argv[1])
    tree = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parent.parent
    members = sdist_members(sdist)
    missing = sorted((set(REQUIRED_TOP) | tracked_files(tree)) - members)
    generated = sorted(m for m in members if m.endswith(FORBIDDEN_SUFFIXES)
                       or PurePosixPath(m).name in FORBIDDEN_NAMES)
    pyx = sorted(m for m in members if m.endswith(".pyx"))
    if missing or generated or not pyx:
        for name in missing:
            print(f"{sdist.name}: missing {name}", file=sys.stderr)
        for name in generated:
            print(f"{sdist.name}: holds generated file {name}", file=sys.stderr)
        if not pyx:
            print(f"{sdist.name}: holds no .pyx source", file=sys.stderr)
        return 1
    print(f"{sdist.name}: {len(members)} files, {len(pyx)} .pyx sources, no generated files, "
          f"nothing tracked missing ({sdist.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
