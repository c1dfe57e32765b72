"""``python -m benchmarks``: see benchmarks/runner.py (``--help`` lists the options)."""
from benchmarks.runner import main

main()
