"""Regenerate docs/images/seed_graph.png, the README's picture of the seed network's graph.

Run:  python scripts/draw_seed_graph.py [docs/images/seed_graph.png] [--engine dot|matplotlib]

Graphviz's ``dot`` program (apt-get install graphviz) draws the committed picture; without it
the picture is laid out with matplotlib instead.
"""
import sys

from minigrad.viz import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("--"):
        args = ["docs/images/seed_graph.png", *args]
    main(["--seed-example", *args])
