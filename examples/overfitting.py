"""Over-fitting and its cures: the same large network trained on few examples, plain, with dropout,
and with weight decay (L2 regularisation).

What it teaches (lecture 003): a network with many weights can memorise a small training set
(training loss keeps falling towards zero while test loss turns and rises: over-fitting). Dropout randomly zeroes hidden
units at a given rate during training only; weight decay pulls weights towards zero. Both narrow
the gap between train and test curves, which the plot shows.

    python examples/overfitting.py            # 150 epochs per variant, saves overfitting.png
    python examples/overfitting.py --quick
"""
import argparse

import numpy as np
from tinygrad_rnn.progress import progress

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.plotting import figure

VARIANTS = {
    "plain": dict(dropout=0.0, weight_decay=0.0),
    "dropout 0.5": dict(dropout=0.5, weight_decay=0.0),
    "weight decay 0.3": dict(dropout=0.0, weight_decay=0.3),
}


def make_model(hidden, dropout):
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, 10))


def evaluate(model, X, y):
    model.eval()                                          # dropout is off outside training
    with tg.no_grad():
        logits = model(X)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--train-size", type=int, default=150, help="few examples -> over-fitting")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--out", default="overfitting.png")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 5 if args.quick else args.epochs

    X, y = tg.datasets.load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    tr, te = order[:args.train_size], order[args.train_size:]
    X_train, y_train, X_test, y_test = tg.tensor(X[tr]), tg.tensor(y[tr]), tg.tensor(X[te]), tg.tensor(y[te])

    results = {}
    for name, cfg in VARIANTS.items():
        tg.manual_seed(0)
        model = make_model(args.hidden, cfg["dropout"])
        optimizer = tg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=cfg["weight_decay"])
        curve = {"train": [], "test": []}
        for _ in progress(range(epochs), desc=name, leave=False):
            loss = nn.functional.cross_entropy(model(X_train), y_train)   # full batch
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            curve["train"].append(evaluate(model, X_train, y_train)[0])
            curve["test"].append(evaluate(model, X_test, y_test)[0])
        results[name] = curve
        _, acc = evaluate(model, X_test, y_test)
        print(f"{name:18s} train loss {curve['train'][-1]:.4f}  test loss {curve['test'][-1]:.4f}  "
              f"test acc {acc:.3f}")

    save_plot(results, args.out)
    return results


def save_plot(results, path):
    with figure(path, 1, len(results), figsize=(4 * len(results), 3.5), sharey=True) as (fig, axes):
        for ax, (name, curve) in zip(axes, results.items()):
            ax.plot(curve["train"], label="train")
            ax.plot(curve["test"], label="test")
            ax.set(title=name, xlabel="epoch", yscale="log")
            ax.legend()
        axes[0].set_ylabel("cross-entropy loss")


if __name__ == "__main__":
    main()
