"""tinygrad_rnn.plotting.figure: one ``with`` block makes, saves and reports a matplotlib figure."""
import struct
import sys
import warnings

import pytest

from tinygrad_rnn.plotting import figure


def png_size(path):
    """(width, height) in pixels, read from the PNG header (the IHDR chunk follows the signature)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", data[16:24])


def test_figure_saves_a_png_and_prints_its_path(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "loss.png"
    with figure(path, figsize=(6, 4)) as (fig, ax):
        ax.plot([3.0, 2.0, 1.5, 1.2])
        ax.set(xlabel="step", ylabel="loss")
    assert capsys.readouterr().out == f"saved {path}\n"
    assert png_size(path) == (600, 400)            # 6 x 4 inches at 100 dpi


@pytest.mark.parametrize("nrows, ncols, shape", [(1, 1, None), (1, 3, (3,)), (3, 1, (3,)), (2, 3, (2, 3))])
def test_axes_follow_plt_subplots(tmp_path, nrows, ncols, shape):
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes
    with figure(tmp_path / "grid.png", nrows, ncols) as (fig, axes):
        if shape is None:
            assert isinstance(axes, Axes)
        else:
            assert axes.shape == shape
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_nrows_0_gives_an_empty_figure_to_lay_out_by_hand(tmp_path):
    pytest.importorskip("matplotlib")
    with figure(tmp_path / "free.png", nrows=0) as (fig, axes):
        assert axes is None and fig.axes == []
        grid = fig.add_gridspec(2, 2)
        fig.add_subplot(grid[0, :]).plot([0, 1])
    assert png_size(tmp_path / "free.png") == (600, 400)


def test_a_chosen_layout_is_kept_and_not_replaced_by_tight_layout(tmp_path):
    pytest.importorskip("matplotlib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # tight_layout over a constrained layout warns
        with figure(tmp_path / "c.png", 1, 2, layout="constrained") as (fig, axes):
            image = axes[0].imshow([[0.0, 1.0], [1.0, 0.0]])
            fig.colorbar(image, ax=axes)
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"


def test_nothing_is_saved_when_the_block_raises(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "broken.png"
    with pytest.raises(ZeroDivisionError):
        with figure(path) as (fig, ax):
            ax.plot([1 / 0])
    assert not path.exists()
    assert capsys.readouterr().out == ""


def test_missing_matplotlib_raises_an_import_error_naming_the_examples_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)     # `import` now fails
    with pytest.raises(ImportError, match=r"tinygrad-rnn\[examples\]"):
        with figure(tmp_path / "never.png"):
            pass
    assert not (tmp_path / "never.png").exists()
