"""scikit-learn's handwritten digits: 1,797 grey 8x8 images of the digits 0-9 (about 180 each).

The data file ships inside scikit-learn, so nothing is downloaded. It is read directly (a 20 ms
parse) rather than through ``sklearn.datasets``, whose import takes about a second; if a future
scikit-learn moves the file, scikit-learn's own loader is used instead.
"""
from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from ._common import finish

_INSTALL = "pip install 'tinygrad-rnn[examples]'"


def _missing():
    return ImportError(f"load_digits needs scikit-learn, which ships the digits data; install it with "
                       f"{_INSTALL} (or pip install scikit-learn)")


@functools.lru_cache(maxsize=1)
def _raw():
    """(pixels uint8 (1797, 64) in 0..16, labels int64 (1797,)), read once per process."""
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _missing()
    path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data", "digits.csv.gz")
    if os.path.exists(path):
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        try:
            from sklearn.datasets import load_digits as sk_load
        except ImportError as e:
            raise _missing() from e
        pixels, labels = sk_load(return_X_y=True)
    return np.asarray(pixels).astype(np.uint8), np.asarray(labels).astype(np.int64)


def load_digits(as_dataset=False, return_X_y=True, dtype=np.float32, scale=True, as_images=False,
                device=None):
    """The 8x8 digits as ``(X, y)`` arrays, a dict, or a ``TensorDataset``.

    * ``X``: ``(1797, 64)`` pixels in row-major order, or ``(1797, 1, 8, 8)`` (N, C, H, W) with
      ``as_images=True``; ``dtype`` (float32 by default). With ``scale=True`` (the default) the
      raw grey levels 0..16 are divided by 16, so pixels lie in [0, 1] and a freshly initialised
      network starts in a sensible range; ``scale=False`` keeps the integers 0..16.
    * ``y``: ``(1797,)`` int64 labels 0..9, ready for ``cross_entropy``.
    * ``as_dataset=True`` returns ``TensorDataset(X, y)`` of tensors on ``device``.
    * ``return_X_y=False`` returns a dict with ``data`` (X), ``target`` (y), ``images``
      ``(1797, 8, 8)`` and ``target_names`` (0..9).

    Raises ImportError naming the ``examples`` extra when scikit-learn is not installed.
    """
    pixels, labels = _raw()
    X = pixels.astype(dtype)
    if scale:
        X /= np.asarray(16, dtype=X.dtype)
    images = X.reshape(-1, 8, 8)
    if as_images:
        X = X.reshape(-1, 1, 8, 8)
    y = labels.copy()
    if as_dataset:
        return finish(X, y, True, device)
    if not return_X_y:
        return {"data": X, "target": y, "images": images, "target_names": np.arange(10)}
    return X, y
