"""One-to-many: a digit image is encoded to one vector, and a GRU decoder spells the digit's name.

What it teaches (lectures 000, 001 and 003, the sequence structures): in a one-to-many network,
as in image captioning, ONE input (the image vector) starts a sequence of outputs (the words). The
decoder still needs an input at every step, so, as the lecture says, it is fed an input agreed on
in advance: a start token ``^`` at the first step, then the character it wrote at the step before.
The image enters only once, as the decoder's initial hidden state ``h_0``.

Here the image is one of scikit-learn's real 8x8 digits, the encoder a small CNN
(conv -> ReLU -> max-pool -> linear -> tanh) and the caption the digit's English name, spelled
character by character and closed by an end token ``$``: a 7 becomes ``s e v e n $``. Training
uses teacher forcing (the decoder reads the true previous character, ``^ s e v e n`` -> ``s e v e
n $``; the shorter names are padded and the padding is ignored by the loss); testing decodes
greedily from ``^`` until ``$``. It reports exact-word accuracy on the 449 held-out images: 98.7%
in a full run (about 10 seconds), and saves the loss and accuracy curves and a picture of test digits
with the words the network wrote for them.

    python examples/captioning.py            # 40 epochs, saves captioning.png and captioning_samples.png
    python examples/captioning.py --quick    # a few seconds
"""
import argparse
import pathlib

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.data import DataLoader, TensorDataset
from tinygrad_rnn.plotting import figure
from tinygrad_rnn.progress import progress

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
START, END = "^", "$"
CHARS = [START, END] + sorted(set("".join(NAMES)))            # the decoder's vocabulary
STEPS = max(len(n) for n in NAMES) + 1                         # the longest name and its end token


def captions():
    """Each digit's name as character indices: decoder inputs ``^name`` and targets ``name$``,
    both ``(10, STEPS)``; targets padded with -100 (ignored by the loss), inputs with ``$``."""
    inputs = np.full((10, STEPS), CHARS.index(END), np.int64)
    targets = np.full((10, STEPS), -100, np.int64)
    for digit, name in enumerate(NAMES):
        ids = [CHARS.index(c) for c in name]
        inputs[digit, :len(ids) + 1] = [CHARS.index(START)] + ids
        targets[digit, :len(ids) + 1] = ids + [CHARS.index(END)]
    return inputs, targets


def split_digits(test_fraction=0.25, seed=0):
    """Images ``(N, 1, 8, 8)`` and labels; a quarter held out (the split of ``mlp_digits.py``)."""
    X, y = tg.datasets.load_digits(return_X_y=True, as_images=True)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(len(X) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (tg.tensor(X[train]), tg.tensor(y[train])), (tg.tensor(X[test]), tg.tensor(y[test]))


class Captioner(nn.Module):
    """Encoder: image ``(B, 1, 8, 8)`` -> ``h_0 (1, B, H)``. Decoder: characters ``(B, T)`` and a
    state -> scores for the next character ``(B, T, len(CHARS))`` and the new state."""

    def __init__(self, hidden_size, embedding_dim=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # -> (B, 16, 4, 4)
            nn.Flatten(), nn.Linear(16 * 4 * 4, hidden_size), nn.Tanh())   # -> (B, H): the image vector
        self.embed = nn.Embedding(len(CHARS), embedding_dim)
        self.decoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, len(CHARS))

    def encode(self, images):
        return self.encoder(images).unsqueeze(0)             # the GRU's initial state (1, B, H)

    def decode(self, chars, state):
        hs, state = self.decoder(self.embed(chars), state)
        return self.out(hs), state

    def forward(self, images, chars):
        """Teacher forcing: the whole true input sequence in one call."""
        return self.decode(chars, self.encode(images))[0]

    def spell(self, images, steps=STEPS):
        """Greedy decoding: start from ``^`` and feed back the most likely character -> ``(B, steps)``."""
        with tg.no_grad():
            state = self.encode(images)
            char = tg.full((images.shape[0], 1), CHARS.index(START), dtype=tg.int64)
            written = []
            for _ in range(steps):                             # one decoder step at a time
                scores, state = self.decode(char, state)
                char = scores.argmax(2)                        # (B, 1)
                written.append(char)
            return tg.cat(written, 1)


def exact_words(written, labels, targets):
    """Fraction of images whose written word, up to and including ``$``, is the digit's name."""
    want = targets[labels.numpy()]                             # (N, STEPS), -100 after the end
    right = (written.numpy() == want) | (want == -100)         # what follows the end may be anything
    return right.all(1).mean()


def text(row):
    """Character indices -> the word, cut at the end token."""
    word = "".join(CHARS[i] for i in row)
    return word.split(END)[0] if END in word else word + "..."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="captioning.png", help="where to save the curves; the "
                        "sample picture goes next to it as <name>_samples.png")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--quick", action="store_true", help="a short run (for tests)")
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else args.epochs

    tg.manual_seed(args.seed)
    (X_train, y_train), (X_test, y_test) = split_digits()
    inputs, targets = captions()
    dec_in, dec_target = tg.tensor(inputs), tg.tensor(targets)
    model = Captioner(args.hidden)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=args.batch_size, shuffle=True)
    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    history = {"loss": [], "test": []}
    for epoch in range(epochs):
        total = 0.0
        for images, labels in progress(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False):
            scores = model(images, dec_in[labels])             # (B, STEPS, V)
            loss = nn.functional.cross_entropy(scores.reshape(-1, len(CHARS)),
                                               dec_target[labels].reshape(-1))   # -100: padding
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        scheduler.step()
        model.eval()
        written = model.spell(X_test)
        model.train()
        history["loss"].append(total / len(y_train))
        history["test"].append(float(exact_words(written, y_test, targets)))
        print(f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  "
              f"exact-word accuracy {history['test'][-1]:.3f}")

    labels = y_test.numpy()
    first = (labels[None, :] == np.arange(10)[:, None]).argmax(1)   # one test image of each digit
    words = [text(row) for row in written.numpy()[first].tolist()]
    for digit, word in enumerate(words):
        print(f"  a test image of a {digit} -> '{word}'")
    print(f"exact-word accuracy on {len(y_test)} test images: {history['test'][-1]:.1%}")
    save_plot(history, args.out)
    samples = pathlib.Path(args.out)
    save_samples(X_test.numpy()[first], words, samples.with_name(samples.stem + "_samples.png"))
    history["words"] = words
    return history


def save_plot(history, path):
    with figure(path, 1, 2, figsize=(9, 3.5)) as (fig, (ax1, ax2)):
        epochs = range(1, len(history["loss"]) + 1)
        ax1.plot(epochs, history["loss"])
        ax1.set(xlabel="epoch", ylabel="training loss per character", yscale="log",
                title="Cross-entropy loss (teacher forcing)")
        ax2.plot(epochs, history["test"])
        ax2.set(xlabel="epoch", ylabel="exact-word accuracy", title="Greedy decoding, test images")


def save_samples(images, words, path):
    with figure(path, 2, 5, figsize=(7, 4)) as (fig, axes):
        for ax, image, word in zip(axes.flat, images, words):
            ax.imshow(image[0], cmap="gray_r")
            ax.set_title(f'"{word}"')
            ax.axis("off")
        fig.suptitle("Test digits and the words the decoder wrote")


if __name__ == "__main__":
    tg.threads.one_thread_for_small_matrices()     # small matrices: one BLAS thread is faster
    main()
