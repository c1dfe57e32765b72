"""Benchmarks: ``python -m benchmarks`` times this project beside PyTorch (and NumPy-based peers when
installed), each library in its own worker process. See ``benchmarks/README.md``."""
