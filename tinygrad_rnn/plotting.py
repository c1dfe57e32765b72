"""Save a matplotlib figure from one ``with`` block: the examples' plots, without their boilerplate.

    from tinygrad_rnn.plotting import figure
    with figure("loss.png", figsize=(6, 4)) as (fig, ax):
        ax.plot(losses)
        ax.set(xlabel="step", ylabel="loss", yscale="log")
    # prints: saved loss.png

matplotlib is optional (the ``examples`` extra) and imported only when a figure is made. The figure
is a bare ``matplotlib.figure.Figure``, not a pyplot one: it is drawn by Agg whatever backend
pyplot uses, needs no display, and leaves pyplot's state alone.
"""
from __future__ import annotations

import contextlib

_INSTALL = "pip install 'tinygrad-rnn[examples]'"


@contextlib.contextmanager
def figure(path, nrows=1, ncols=1, figsize=(6, 4), **kwargs):
    """Yield ``(fig, axes)``; when the block ends, save the figure to ``path`` (100 dpi, the format
    from the file name), print ``saved <path>`` and let the figure go.

    ``axes`` follows ``plt.subplots``: one Axes for 1 x 1, an array ``(ncols,)`` for one row,
    ``(nrows,)`` for one column, else ``(nrows, ncols)``. ``nrows=0`` gives ``axes=None``, an empty
    figure to lay out yourself (``fig.add_gridspec``). ``layout`` (e.g. ``"constrained"``) goes to
    the figure, other keywords (``sharey=True``, ``gridspec_kw``) to ``fig.subplots``; without a
    ``layout``, ``tight_layout`` runs before saving. Nothing is saved if the block raises.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"tinygrad_rnn.plotting.figure needs matplotlib, which is not installed; "
                          f"install it with {_INSTALL} (or pip install matplotlib)") from e
    fig = Figure(figsize=figsize, layout=kwargs.pop("layout", None))
    axes = fig.subplots(nrows, ncols, **kwargs) if nrows and ncols else None
    yield fig, axes
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")
