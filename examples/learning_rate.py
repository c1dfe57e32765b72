"""The learning rate, the most important hyper-parameter: too small stalls, too big diverges.

What it teaches (lecture 003): gradient descent updates ``w_new = w_old - lr * dE/dw``. With a tiny
lr the loss barely moves; with a well-chosen lr it falls fast; with a too-large lr each step
overshoots the minimum by more than it started from: the loss shoots up hundreds of times above its
starting value and never comes back down. The same
small network on the digits data, trained by plain full-batch gradient descent from the same
starting weights, shows all three; the plot puts them on one log-scale axis.

    python examples/learning_rate.py            # 200 steps each, saves learning_rate.png
    python examples/learning_rate.py --quick
"""
import argparse
import math

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.plotting import figure

RATES = {"too small (lr=0.001)": 1e-3, "good (lr=0.5)": 0.5, "too big (lr=40)": 40.0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default="learning_rate.png")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    steps = 30 if args.quick else args.steps

    X, y = tg.datasets.load_digits(return_X_y=True)
    X, y = tg.tensor(X), tg.tensor(y)
    tg.manual_seed(args.seed)
    start = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10)).state_dict()

    curves = {}
    for name, lr in RATES.items():
        model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
        model.load_state_dict(start)                       # the same starting weights
        losses = []
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(X), y)  # full batch: plain gradient descent
            model.zero_grad()
            loss.backward()
            with tg.no_grad():
                for w in model.parameters():
                    w -= lr * w.grad                       # w_new = w_old - lr * dE/dw
            losses.append(loss.item())
            if not math.isfinite(losses[-1]) or losses[-1] > 1e6:
                break                                      # diverged: nothing more to see
        curves[name] = losses
        print(f"{name:22s} loss {losses[0]:.3f} -> {losses[-1]:.4g} after {len(losses)} steps")

    save_plot(curves, args.out)
    return curves


def save_plot(curves, path):
    with figure(path, figsize=(6.5, 4)) as (fig, ax):
        for name, losses in curves.items():
            ax.plot([v if math.isfinite(v) else float("nan") for v in losses], label=name)
        ax.set(xlabel="gradient descent step", ylabel="training loss", yscale="log",
               title="Same network, same start, three learning rates")
        ax.legend()


if __name__ == "__main__":
    main()
