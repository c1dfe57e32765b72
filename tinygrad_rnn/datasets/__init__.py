"""Small datasets for examples and tests: real data shipped inside installed packages (no network)
and seeded synthetic generators.

* ``load_digits``: scikit-learn's 1,797 8x8 handwritten digits (needs the ``examples`` extra).
* ``make_moons``, ``make_spirals``: 2-D classification problems that a linear model cannot solve.
* ``load_char_corpus``: text as character ids (the Python stdlib's sources, or any UTF-8 file).
"""
from .digits import load_digits
from .synthetic import make_moons, make_spirals
from .text import CharCorpus, CharVocab, load_char_corpus, python_sources

__all__ = ["load_digits", "make_moons", "make_spirals", "CharCorpus", "CharVocab",
           "load_char_corpus", "python_sources"]
