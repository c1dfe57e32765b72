"""The lecture's optimizers side by side: gradient descent with SGD, Momentum, Adagrad, RMSProp and
Adam (= Momentum + RMSProp) train the same network from the same starting weights.

What it teaches (lecture 003): every optimizer follows -dE/dw, but they differ in how they use
past gradients: Momentum keeps a running direction, Adagrad and RMSProp scale each weight's step by
its gradient history, Adam does both. The plot shows their loss curves on one set of axes.

    python examples/optimizers.py            # 15 epochs each, saves optimizers.png
    python examples/optimizers.py --quick
"""
import argparse

import numpy as np
from tinygrad_rnn.progress import progress

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure

# Each optimizer gets the learning rate that suits it (its usual default range), not one shared
# value: the adaptive methods divide by a gradient scale, so their steps are larger per unit of lr.
# The legend says which lr each curve used.
OPTIMIZERS = {
    "SGD": (lambda p, lr: tg.optim.SGD(p, lr=lr), 0.05),
    "Momentum": (lambda p, lr: tg.optim.SGD(p, lr=lr, momentum=0.9), 0.05),
    "Adagrad": (lambda p, lr: tg.optim.Adagrad(p, lr=lr), 0.05),
    "RMSProp": (lambda p, lr: tg.optim.RMSprop(p, lr=lr), 1e-3),
    "Adam": (lambda p, lr: tg.optim.Adam(p, lr=lr), 1e-3),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", default="optimizers.png")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 1 if args.quick else args.epochs

    tg.manual_seed(0)
    X, y = tg.datasets.load_digits(return_X_y=True)
    data = TensorDataset(tg.tensor(X), tg.tensor(y))
    start = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10)).state_dict()

    curves = {}
    for name, (make, lr) in OPTIMIZERS.items():
        tg.manual_seed(1)                                  # same batches for every optimizer
        model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
        model.load_state_dict(start)                       # same starting weights
        optimizer = make(model.parameters(), lr)
        losses = []
        for _ in range(epochs):
            for xb, yb in progress(DataLoader(data, batch_size=32, shuffle=True), desc=name, leave=False):
                loss = nn.functional.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        curves[f"{name} (lr={lr:g})"] = losses
        print(f"{name:9s} lr={lr:<5g} final loss (mean of last 20 iterations): {np.mean(losses[-20:]):.4f}")

    save_plot(curves, args.out)
    return curves


def save_plot(curves, path):
    with figure(path, figsize=(7, 4)) as (fig, ax):
        for name, losses in curves.items():
            smooth = np.convolve(losses, np.ones(10) / 10, mode="valid") if len(losses) > 10 else losses
            ax.plot(smooth, label=name)
        ax.set(xlabel="iteration (mini-batch update)", ylabel="training loss (moving average)",
               yscale="log", title="Same network, same start, five optimizers")
        ax.legend()


if __name__ == "__main__":
    main()
