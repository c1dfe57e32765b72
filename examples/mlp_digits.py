"""A multi-layer perceptron on real handwritten digits (8x8 images from scikit-learn).

What it teaches (lecture 003): a layer is X @ W + b followed by an activation; softmax turns the
last layer's scores into probabilities; an epoch is one pass over all training data and an
iteration is one mini-batch update; the optimizer (Adam) follows -dE/dw, with a learning rate that
shrinks along a cosine over the run. It reaches about 98%
test accuracy and saves a plot of loss and accuracy per epoch.

    python examples/mlp_digits.py            # 60 epochs, saves mlp_digits.png
    python examples/mlp_digits.py --quick    # a few seconds
"""
import argparse

import numpy as np
from tinygrad_rnn.progress import progress

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure


def split_digits(test_fraction=0.25, seed=0):
    """Shuffle the 1797 digits once and hold a quarter out for testing."""
    X, y = tg.datasets.load_digits(return_X_y=True)          # X: (1797, 64) in [0, 1], y: (1797,)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(len(X) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (tg.tensor(X[train]), tg.tensor(y[train])), (tg.tensor(X[test]), tg.tensor(y[test]))


def accuracy(model, X, y):
    model.eval()
    with tg.no_grad():
        correct = (model(X).argmax(1) == y).sum().item()
    model.train()
    return correct / len(y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="mlp_digits.png", help="where to save the plot")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs

    tg.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = split_digits()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=args.batch_size, shuffle=True)
    model = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 10))
    loss_fn = nn.CrossEntropyLoss()                       # softmax + negative log-likelihood
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)   # smaller steps late on

    history = {"loss": [], "train": [], "test": []}
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in progress(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False):
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()                              # one iteration = one mini-batch update
            total += loss.item() * len(yb)
        scheduler.step()
        history["loss"].append(total / len(y_train))
        history["train"].append(accuracy(model, X_train, y_train))
        history["test"].append(accuracy(model, X_test, y_test))
        print(f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  "
              f"train acc {history['train'][-1]:.3f}  test acc {history['test'][-1]:.3f}")

    save_plot(history, args.out)
    return history


def save_plot(history, path):
    with figure(path, 1, 2, figsize=(9, 3.5)) as (fig, (ax1, ax2)):
        epochs = range(1, len(history["loss"]) + 1)
        ax1.plot(epochs, history["loss"])
        ax1.set(xlabel="epoch", ylabel="training loss", title="Cross-entropy loss")
        ax2.plot(epochs, history["train"], label="train")
        ax2.plot(epochs, history["test"], label="test")
        ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
        ax2.legend()


if __name__ == "__main__":
    main()
