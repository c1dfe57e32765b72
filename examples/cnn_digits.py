"""A small convolutional network on real handwritten digits (8x8 images from scikit-learn).

What it teaches (the convolution lecture): a filter slides over the image and produces one feature
map; a layer of 16 filters produces 16 maps; ReLU keeps the positive responses; max pooling keeps
the strongest response in each 2x2 window, halving the map; a second convolution combines the maps
of the first (each of its filters spans all 16 input channels). Dropout2d drops whole feature maps
while training. It reaches about 99% test accuracy and saves a picture of the learned first-layer
3x3 filters and of the feature maps they produce for one test digit.

    python examples/cnn_digits.py            # 30 epochs, saves cnn_digits.png
    python examples/cnn_digits.py --quick    # a few seconds
"""
import argparse

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure
from tinygrad_rnn.progress import progress


def split_digits(test_fraction=0.25, seed=0):
    """Shuffle the 1797 digits once and hold a quarter out for testing; X is (N, 1, 8, 8)."""
    X, y = tg.datasets.load_digits(return_X_y=True, as_images=True)     # pixels in [0, 1]
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(len(X) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (tg.tensor(X[train]), tg.tensor(y[train])), (tg.tensor(X[test]), tg.tensor(y[test]))


def make_model(channels=16):
    c1, c2 = channels, 2 * channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),          # (N, 1, 8, 8) -> (N, 16, 8, 8): 16 maps
        nn.MaxPool2d(2),                                     # -> (N, 16, 4, 4)
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(),          # each filter sees all 16 maps
        nn.MaxPool2d(2),                                     # -> (N, 32, 2, 2)
        nn.Dropout2d(0.1),                                   # drop whole maps while training
        nn.Flatten(), nn.Linear(c2 * 2 * 2, 10))


def accuracy(model, X, y):
    model.eval()
    with tg.no_grad():
        correct = (model(X).argmax(1) == y).sum().item()
    model.train()
    return correct / len(y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--channels", type=int, default=16, help="filters in the first layer")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="cnn_digits.png", help="where to save the picture")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs

    tg.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = split_digits()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=args.batch_size, shuffle=True)
    model = make_model(args.channels)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    history = {"loss": [], "train": [], "test": []}
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in progress(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False):
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        scheduler.step()
        history["loss"].append(total / len(y_train))
        history["train"].append(accuracy(model, X_train, y_train))
        history["test"].append(accuracy(model, X_test, y_test))
        print(f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  "
              f"train acc {history['train'][-1]:.3f}  test acc {history['test'][-1]:.3f}")

    save_plot(model, X_test[:1], history, args.out)
    return history


def save_plot(model, digit, history, path):
    """The first layer's 3x3 filters, the feature maps they give for one test digit (after ReLU),
    and the accuracy per epoch. Filters share one colour scale (red positive, blue negative), maps
    another (black 0, white the largest response); a map that is all black is a filter that
    responds nowhere on this digit: ReLU set every negative response to 0."""
    from matplotlib.ticker import MaxNLocator

    conv = model[0]
    filters = conv.weight.numpy()[:, 0]                            # (16, 3, 3)
    model.eval()
    with tg.no_grad():
        maps = model[1](conv(digit)).numpy()[0]                    # (16, 8, 8) after ReLU
    n = len(filters)
    cols = (n + 1) // 2
    with figure(path, nrows=0, figsize=(1.1 * cols + 3.2, 8), layout="constrained") as (fig, _):
        fig.suptitle("cnn_digits: the first layer's filters, their feature maps for one test digit, "
                     "and the accuracy per epoch", fontsize=10)
        grid = fig.add_gridspec(5, cols + 2, height_ratios=[1, 1, 1, 1, 1.6])
        scale, top = np.abs(filters).max(), maps.max()
        filter_axes, map_axes = [], []
        for i in range(n):
            r, c = divmod(i, cols)
            ax = fig.add_subplot(grid[r, c + 2])
            shown = ax.imshow(filters[i], cmap="bwr", vmin=-scale, vmax=scale)
            ax.set(xticks=[], yticks=[])
            ax.set_title(f"filter {i}", fontsize=7)
            filter_axes.append(ax)
            ax = fig.add_subplot(grid[2 + r, c + 2])
            response = ax.imshow(maps[i], cmap="gray", vmin=0, vmax=top)
            ax.set(xticks=[], yticks=[])
            dead = not maps[i].any()
            ax.set_title(f"map {i}" + (": all 0" if dead else ""), fontsize=7,
                         color="tab:red" if dead else "black")
            map_axes.append(ax)
        fig.colorbar(shown, ax=filter_axes, shrink=0.8, label="weight")
        fig.colorbar(response, ax=map_axes, shrink=0.8, label="response after ReLU")
        ax = fig.add_subplot(grid[1:3, :2])
        ax.imshow(digit.numpy()[0, 0], cmap="gray")
        ax.set(xticks=[], yticks=[], title="input digit")
        ax.text(0.5, -0.08, "a map marked 'all 0': the filter\nresponds nowhere on this digit\n"
                "(ReLU zeroes negative responses)", transform=ax.transAxes, ha="center", va="top",
                fontsize=7)
        curve = fig.add_subplot(grid[4, :])
        epochs = range(1, len(history["test"]) + 1)
        curve.plot(epochs, history["train"], label="train")
        curve.plot(epochs, history["test"], label="test")
        curve.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        curve.set(xlabel="epoch", ylabel="accuracy", title="accuracy per epoch")
        curve.legend()


if __name__ == "__main__":
    main()
