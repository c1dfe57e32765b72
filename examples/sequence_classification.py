"""Many-to-one: an LSTM and a GRU read each digit image row by row and name the digit at the end.

What it teaches (lectures 000, 001 and 003, the sequence structures): in a many-to-one network a
whole sequence goes in and one answer comes out, as in sentiment classification of a sentence.
The network reads the inputs in order, one per time step, and only the output after the LAST step
is used (here the final hidden state ``h_n`` feeds a linear layer and a softmax over the 10
classes). Back-propagation through time carries that one loss back to every step.

The data are scikit-learn's real 8x8 handwritten digits: each image becomes a sequence of 8 time
steps (its rows, top to bottom) of 8 pixels each, so the network must remember the top of the
digit while it reads the bottom. Train/test split as in ``mlp_digits.py`` (the same 449 test
images). A full run (about 10 seconds) reaches 98.0% test accuracy with both the LSTM and the GRU
(64 hidden units each) and saves a plot of loss and test accuracy per epoch.

    python examples/sequence_classification.py            # 25 epochs each, saves sequence_classification.png
    python examples/sequence_classification.py --quick    # a few seconds
"""
import argparse

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure
from tinygrad_rnn.progress import progress


def split_digits(test_fraction=0.25, seed=0):
    """The digits as sequences ``(N, 8 rows, 8 pixels)``; a quarter held out for testing."""
    X, y = tg.datasets.load_digits(return_X_y=True)          # X: (1797, 64) in [0, 1], y: (1797,)
    X = X.reshape(-1, 8, 8)                                   # image k, row t = time step t
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(len(X) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (tg.tensor(X[train]), tg.tensor(y[train])), (tg.tensor(X[test]), tg.tensor(y[test]))


class RowReader(nn.Module):
    """``(B, 8, 8)`` rows of pixels -> ``(B, 10)`` class scores from the state after the last row."""

    def __init__(self, kind, hidden_size):
        super().__init__()
        self.rnn = getattr(nn, kind)(8, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 10)

    def forward(self, x):
        _, h_n = self.rnn(x)                   # many-to-one: only the last step's state is used
        if isinstance(h_n, tuple):             # an LSTM's state is (h, c); the output is h
            h_n = h_n[0]
        return self.fc(h_n[-1])                # h_n: (layers, B, H) -> the top layer's (B, H)


def accuracy(model, X, y):
    model.eval()
    with tg.no_grad():
        correct = (model(X).argmax(1) == y).sum().item()
    model.train()
    return correct / len(y)


def train(kind, data, args, epochs):
    (X_train, y_train), (X_test, y_test) = data
    tg.manual_seed(args.seed)
    model = RowReader(kind, args.hidden)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=args.batch_size, shuffle=True)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = {"loss": [], "test": []}
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in progress(loader, desc=f"{kind} epoch {epoch + 1}/{epochs}", leave=False):
            loss = nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        scheduler.step()
        history["loss"].append(total / len(y_train))
        history["test"].append(accuracy(model, X_test, y_test))
        print(f"{kind:4s} epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  "
              f"test acc {history['test'][-1]:.3f}")
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="sequence_classification.png", help="where to save the plot")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs

    data = split_digits()
    histories = {kind: train(kind, data, args, epochs) for kind in ("LSTM", "GRU")}
    for kind, h in histories.items():
        print(f"{kind}: test accuracy {h['test'][-1]:.1%}")
    save_plot(histories, args.out)
    return histories


def save_plot(histories, path):
    with figure(path, 1, 2, figsize=(9, 3.5)) as (fig, (ax1, ax2)):
        for kind, h in histories.items():
            epochs = range(1, len(h["loss"]) + 1)
            ax1.plot(epochs, h["loss"], label=kind)
            ax2.plot(epochs, h["test"], label=kind)
        ax1.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Cross-entropy loss")
        ax2.set(xlabel="epoch", ylabel="test accuracy", title="Digits read row by row")
        ax1.legend()
        ax2.legend()


if __name__ == "__main__":
    tg.threads.one_thread_for_small_matrices()     # small matrices: one BLAS thread is faster
    main()
