"""Seeded 2-D classification problems that need a non-linear decision boundary.

Randomness comes from ``generator`` or the default generator (seeded by
``tinygrad_rnn.manual_seed``), so a seeded run draws the same points every time.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ._common import finish


def _rng(generator):
    return (generator or _random.default_generator).numpy


def _check_n(n, who, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{who}: n_samples must be an integer >= {minimum}, got {n!r}")


def make_moons(n_samples=100, noise=0.0, shuffle=True, generator=None, as_dataset=False,
               dtype=np.float32, device=None):
    """Two interleaved half circles: ``X (n_samples, 2)``, ``y (n_samples,)`` int64 in {0, 1}.

    Class 0 lies on the upper half of the unit circle centred at (0, 0); class 1 on the lower half
    of the unit circle centred at (1, 0.5), ``n_samples // 2`` points on class 0 and the rest on
    class 1, evenly spaced in angle. ``noise`` adds Gaussian noise of that standard deviation to
    every coordinate. Returns arrays, or a ``TensorDataset`` with ``as_dataset=True``.
    """
    _check_n(n_samples, "make_moons", 2)
    rng = _rng(generator)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    a_out, a_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(a_out), np.sin(a_out)], 1),
                        np.stack([1 - np.cos(a_in), 0.5 - np.sin(a_in)], 1)])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if shuffle:
        perm = rng.permutation(n_samples)
        X, y = X[perm], y[perm]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return finish(X.astype(dtype), y, as_dataset, device)


def make_spirals(n_samples=300, n_classes=3, noise=0.2, shuffle=True, generator=None, as_dataset=False,
                 dtype=np.float32, device=None):
    """``n_classes`` interleaved spiral arms: ``X (n_samples, 2)``, ``y (n_samples,)`` int64.

    A point of class k at position t in [0, 1] along its arm has radius r = t and angle
    ``theta = 4 * (k + t)`` (plus Gaussian noise of std ``noise`` radians):
    ``X = (r sin theta, r cos theta)``. Classes have ``n_samples // n_classes`` points each, the
    first ones one more when it does not divide evenly.
    """
    _check_n(n_samples, "make_spirals", n_classes)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"make_spirals: n_classes must be a positive integer, got {n_classes!r}")
    rng = _rng(generator)
    counts = np.full(n_classes, n_samples // n_classes)
    counts[:n_samples % n_classes] += 1
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(n_samples) - starts[y]
    t = pos / np.maximum(counts[y] - 1, 1)
    theta = 4.0 * (y + t)
    if noise:
        theta = theta + rng.normal(scale=noise, size=n_samples)
    X = np.stack([t * np.sin(theta), t * np.cos(theta)], 1)
    if shuffle:
        perm = rng.permutation(n_samples)
        X, y = X[perm], y[perm]
    return finish(X.astype(dtype), y, as_dataset, device)
