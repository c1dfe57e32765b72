"""Small datasets for examples and tests: real data shipped inside installed packages (no network)
and seeded synthetic generators.

* ``load_digits``: scikit-learn's 1,797 8x8 handwritten digits (needs the ``examples`` extra).
* ``make_moons``, ``make_spirals``: 2-D classification problems that a linear model cannot solve.
"""
from .digits import load_digits
from .synthetic import make_moons, make_spirals

__all__ = ["load_digits", "make_moons", "make_spirals"]
