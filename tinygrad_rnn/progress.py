"""Progress reporting for training loops: a tqdm bar on a terminal, plain periodic lines elsewhere.

    from tinygrad_rnn.progress import progress
    for xb, yb in progress(loader, desc="epoch 1"):
        ...

On a terminal (and with tqdm installed) this is a tqdm bar. When the output goes to a file or a
pipe (CI logs, ``nohup``), a bar's carriage returns would fill the log with junk, so a line such as
``epoch 1: 40/100 (40%) 3.1 s`` is printed instead, at most every ``every`` seconds and at the end.
Call ``bar.set_postfix(loss=...)`` on either kind to show figures.
"""
from __future__ import annotations

import sys
import time


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:          # a closed stream
        return False


class _Lines:
    """The non-terminal progress report: an iterable wrapper printing periodic plain lines."""

    def __init__(self, iterable, desc, total, every, file, leave):
        self.iterable, self.desc, self.every, self.file, self.leave = iterable, desc, every, file, leave
        if total is None:
            try:
                total = len(iterable)
            except TypeError:
                total = None
        self.total, self.n, self.postfix = total, 0, ""
        self._start = self._last = time.perf_counter()

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in items.items())

    def set_description(self, desc=None, refresh=True):
        self.desc = desc

    def _line(self):
        elapsed = time.perf_counter() - self._start
        count = f"{self.n}/{self.total} ({100 * self.n / self.total:.0f}%)" if self.total else f"{self.n}"
        head = f"{self.desc}: " if self.desc else ""
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"{head}{count} {elapsed:.1f} s{tail}", file=self.file, flush=True)

    def update(self, n=1):
        self.n += n
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self._line()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def close(self):
        if self.leave and self.n:
            self._line()
            self.leave = False      # once

    def __len__(self):
        return self.total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(iterable=None, desc=None, total=None, every=10.0, file=None, leave=True, **tqdm_kwargs):
    """Wrap ``iterable`` in a progress report (see the module docstring)."""
    file = sys.stderr if file is None else file
    if _is_terminal(file):
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, desc=desc, total=total, file=file, leave=leave, **tqdm_kwargs)
    return _Lines(iterable if iterable is not None else range(total or 0), desc, total, every, file,
                  leave)
