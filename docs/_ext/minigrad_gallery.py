"""sphinx-gallery hooks for minigrad's examples and tutorials (named in conf.py by their
dotted names, so Sphinx can cache the configuration).

The example programs are plain scripts: they save their plots as PNG files in the folder they
run in (``fig.savefig("gd_vs_sgd.png")``, ``History.plot(...)``, ``mg.viz.save_png``) instead of
showing pyplot windows. ``png_files`` is the image scraper that puts those files in the gallery:
after each code block, every PNG file that appeared or changed in the working folder.
"""
import os
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# path -> modification time of the PNG files already shown (scripts/build_docs.sh builds from a
# fresh copy, so the first PNG file in a folder is the output of an example)
_seen = {}


def _pngs(folder):
    return {p: p.stat().st_mtime_ns for p in Path(folder).glob("*.png")}


def png_files(block, block_vars, gallery_conf):
    """The PNG files the last code block wrote in the working folder, as gallery images."""
    current = _pngs(os.getcwd())
    fresh = [p for p, mtime in sorted(current.items()) if _seen.get(p) != mtime]
    _seen.update({p: current[p] for p in fresh})
    image_names = []
    for path, target in zip(fresh, block_vars["image_path_iterator"]):
        shutil.copyfile(path, target)
        image_names.append(target)
    return figure_rst(image_names, gallery_conf["src_dir"])


def example_argv(gallery_conf, script_vars):
    """Command-line arguments for the programs that take them: fewer steps in the docs."""
    name = Path(script_vars["src_file"]).name
    return {"char_transformer.py": ["--steps", "60"]}.get(name, [])
