"""Vanishing gradients: why deep sigmoid networks trained badly and ReLU helped.

What it teaches (lecture 003): back-propagation multiplies one local derivative per layer. The
sigmoid's derivative is at most 1/4, so in a deep sigmoid network the gradient reaching the first
layers shrinks roughly geometrically with depth; ReLU's derivative is 1 wherever a unit is active,
so the gradient keeps its size. The script builds the same 10-layer network with each activation,
runs one backward pass on real digits, and prints and plots the gradient size of every layer.

    python examples/vanishing_gradients.py            # saves vanishing_gradients.png
    python examples/vanishing_gradients.py --quick
"""
import argparse

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.plotting import figure


def layer_gradient_norms(activation, depth, width, X, y, seed=0):
    """Mean absolute gradient of each Linear layer's weight after one backward pass."""
    tg.manual_seed(seed)
    layers = [nn.Linear(64, width), activation()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), activation()]
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    for m in model.modules():                   # the same (He) initial scale for both nets
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    nn.functional.cross_entropy(model(X), y).backward()
    return [m.weight.grad.abs().mean().item() for m in model.modules() if isinstance(m, nn.Linear)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--out", default="vanishing_gradients.png")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)

    X, y = tg.datasets.load_digits(return_X_y=True)
    n = 256 if args.quick else len(X)
    X, y = tg.tensor(X[:n]), tg.tensor(y[:n])

    norms = {name: layer_gradient_norms(act, args.depth, args.width, X, y, args.seed)
             for name, act in (("sigmoid", nn.Sigmoid), ("relu", nn.ReLU))}
    print("layer   mean |dE/dW| sigmoid   mean |dE/dW| relu")
    for i, (s, r) in enumerate(zip(norms["sigmoid"], norms["relu"]), start=1):
        print(f"{i:5d}   {s:20.2e}   {r:17.2e}")
    ratio = {k: v[0] / v[-1] for k, v in norms.items()}
    print(f"first/last layer gradient ratio: sigmoid {ratio['sigmoid']:.1e}, relu {ratio['relu']:.1e}")
    save_plot(norms, args.out)
    return norms


def save_plot(norms, path):
    with figure(path, figsize=(6, 4)) as (fig, ax):
        for name, values in norms.items():
            ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
        ax.set(xlabel="layer (1 = nearest the input)", ylabel="mean |dE/dW|", yscale="log",
               title="Gradient size per layer after one backward pass")
        ax.legend()


if __name__ == "__main__":
    main()
