"""Hyper-parameter tuning three ways: grid search, random search, and coarse-to-fine random search,
over the learning rate and the hidden layer size, with the same budget of trials each.

What it teaches (lecture 003): the learning rate matters most, so tune it first and search it on
a log scale. A grid spends its budget on few distinct learning rates ("don't use grid"); random
search tries a new learning rate every trial; coarse-to-fine samples widely, then samples again
in a smaller box around the best point. The plot shows every tried point coloured by validation
accuracy.

    python examples/hyperparameter_search.py            # 9 trials per method, saves hyperparameter_search.png
    python examples/hyperparameter_search.py --quick
"""
import argparse
import itertools

import numpy as np
from tinygrad_rnn.progress import progress

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure

LR_RANGE = (1e-4, 1.0)          # searched on a log scale
HIDDEN_RANGE = (8, 256)


def train_and_validate(lr, hidden, data, epochs):
    """Train a one-hidden-layer MLP with SGD; return validation accuracy."""
    (X_train, y_train), (X_val, y_val) = data
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    optimizer = tg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=64, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with tg.no_grad():
        acc = (model(X_val).argmax(1) == y_val).float().mean().item()
    return acc if np.isfinite(acc) else 0.0


def grid(n, rng):
    side = int(round(np.sqrt(n)))
    lrs = np.geomspace(*LR_RANGE, side)
    hiddens = np.geomspace(*HIDDEN_RANGE, side).round().astype(int)
    return list(itertools.product(lrs, hiddens))[:n]


def random_points(n, rng, lr_range=LR_RANGE, hidden_range=HIDDEN_RANGE):
    log_lr = rng.uniform(np.log10(lr_range[0]), np.log10(lr_range[1]), n)
    log_h = rng.uniform(np.log2(hidden_range[0]), np.log2(hidden_range[1]), n)
    return list(zip(10 ** log_lr, np.round(2 ** log_h).astype(int)))


def search(method, n, data, epochs, rng):
    if method != "coarse-to-fine":
        points = grid(n, rng) if method == "grid" else random_points(n, rng)
        return [(lr, h, train_and_validate(lr, h, data, epochs)) for lr, h in progress(points, desc=method, leave=False)]
    coarse_n = (n + 1) // 2
    tried = [(lr, h, train_and_validate(lr, h, data, epochs))
             for lr, h in progress(random_points(coarse_n, rng), desc="coarse", leave=False)]
    best_lr, best_h, _ = max(tried, key=lambda t: t[2])
    # fine: a box a factor ~3 around the best learning rate and ~2 around the best size
    fine = random_points(n - coarse_n, rng, (best_lr / 3, min(best_lr * 3, LR_RANGE[1])),
                         (max(best_h // 2, HIDDEN_RANGE[0]), min(best_h * 2, HIDDEN_RANGE[1])))
    return tried + [(lr, h, train_and_validate(lr, h, data, epochs)) for lr, h in progress(fine, desc="fine", leave=False)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--trials", type=int, default=9, help="budget per method")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial")
    parser.add_argument("--out", default="hyperparameter_search.png")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    trials, epochs = (4, 1) if args.quick else (args.trials, args.epochs)

    X, y = tg.datasets.load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    tr, va = order[:1200], order[1200:]
    data = ((tg.tensor(X[tr]), tg.tensor(y[tr])), (tg.tensor(X[va]), tg.tensor(y[va])))

    rng = np.random.default_rng(0)
    results = {}
    for method in ("grid", "random", "coarse-to-fine"):
        results[method] = search(method, trials, data, epochs, rng)
        lr, h, acc = max(results[method], key=lambda t: t[2])
        distinct = len({round(np.log10(t[0]), 3) for t in results[method]})
        print(f"{method:15s} best val acc {acc:.3f} at lr={lr:.2e}, hidden={h}  "
              f"({distinct} distinct learning rates tried)")
    save_plot(results, args.out)
    return results


def save_plot(results, path):
    with figure(path, 1, 3, figsize=(13, 4), sharex=True, sharey=True,
                layout="constrained") as (fig, axes):          # constrained: room for the colorbar
        for ax, (method, tried) in zip(axes, results.items()):
            lr, h, acc = map(np.array, zip(*tried))
            sc = ax.scatter(lr, h, c=acc, cmap="viridis", vmin=0, vmax=1, s=60, edgecolors="k")
            best = np.argmax(acc)
            ax.scatter(lr[best], h[best], marker="*", s=300, c="red")      # the best trial
            ax.set(xscale="log", yscale="log", xlabel="learning rate",
                   title=f"{method}: best {acc[best]:.3f} (red star)")
        axes[0].set_ylabel("hidden units")
        fig.colorbar(sc, ax=axes, label="validation accuracy")


if __name__ == "__main__":
    main()
