"""Text for character-level language models, offline on every machine: the Python standard library's
own ``.py`` sources, or any UTF-8 file.

    corpus = load_char_corpus()                  # the stdlib's top-level .py files, last 5% held out
    corpus.train, corpus.valid                   # int64 arrays of character ids, (L_train,), (L_valid,)
    corpus.vocab.decode(corpus.valid[:80])       # back to text

The stdlib file list is found through ``sysconfig`` (``inspect`` on a stdlib module as a fallback)
and sorted by name, so on one Python installation every run reads the same characters in the same
order. Different Python versions ship different sources, hence different corpora; the corpus
carries a ``fingerprint`` so a checkpoint can tell which text it was trained on.
"""
from __future__ import annotations

import hashlib
import os
import sysconfig
import tokenize
from dataclasses import dataclass

import numpy as np

__all__ = ["CharVocab", "CharCorpus", "python_sources", "load_char_corpus"]


def _stdlib_dir() -> str:
    path = sysconfig.get_paths().get("stdlib")
    if path and os.path.isfile(os.path.join(path, "os.py")):
        return path
    import inspect                 # an unusual layout (frozen, embedded): ask where os.py came from
    return os.path.dirname(inspect.getsourcefile(os))


def python_sources(directory=None) -> list[str]:
    """The top-level ``*.py`` files of ``directory`` (default: the standard library), sorted by name."""
    directory = _stdlib_dir() if directory is None else os.fspath(directory)
    names = sorted(n for n in os.listdir(directory) if n.endswith(".py"))
    paths = [os.path.join(directory, n) for n in names]
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        raise FileNotFoundError(f"python_sources: no .py files in {directory!r}")
    return paths


def _read_python(path) -> str:
    # tokenize.open honours a "# -*- coding: ... -*-" line, as Python does when importing the file
    with tokenize.open(path) as f:
        return f.read()


def _read_utf8(path) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"load_char_corpus: {os.fspath(path)!r} is not UTF-8 text (byte "
                         f"0x{raw[e.start]:02x} at offset {e.start} cannot be decoded)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")    # one newline convention, as text mode reads


class CharVocab:
    """The characters of a text, sorted by code point; character ``chars[i]`` has id ``i``."""

    def __init__(self, chars):
        chars = "".join(chars)
        if len(set(chars)) != len(chars):
            raise ValueError("CharVocab: the characters must be distinct")
        self.chars = "".join(sorted(chars))
        self._codes = np.frombuffer(self.chars.encode("utf-32-le"), dtype="<u4").astype(np.int64)

    @classmethod
    def from_text(cls, text):
        return cls(set(text))

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        return f"CharVocab({len(self)} characters)"

    def __eq__(self, other):
        return isinstance(other, CharVocab) and other.chars == self.chars

    def encode(self, text) -> np.ndarray:
        """``str`` of length L -> int64 ids ``(L,)``. Characters outside the vocabulary raise."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.int64)
        ids = np.searchsorted(self._codes, codes)
        ids = np.minimum(ids, len(self._codes) - 1)
        bad = self._codes[ids] != codes
        if bad.any():
            unknown = sorted(set(chr(c) for c in codes[bad]))
            raise ValueError(f"CharVocab.encode: {len(unknown)} character(s) not in the vocabulary of "
                             f"{len(self)}: {''.join(unknown)[:20]!r}")
        return ids

    def decode(self, ids) -> str:
        """Ids (any integer sequence or array, on the host) -> ``str``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"CharVocab.decode: ids must lie in [0, {len(self)}), got "
                             f"{ids.min()} .. {ids.max()}")
        return self._codes[ids].astype("<u4").tobytes().decode("utf-32-le")


@dataclass
class CharCorpus:
    """A text cut into training and validation ids. ``train``, ``valid``: int64 ``(L,)`` arrays."""
    vocab: CharVocab
    train: np.ndarray
    valid: np.ndarray
    source: str            # "python stdlib (N files in DIR)" or the file's path
    fingerprint: str       # sha256 of the text, to recognise the corpus again


def load_char_corpus(path=None, valid_fraction=0.05, max_chars=None) -> CharCorpus:
    """Read a corpus and hold out its last ``valid_fraction`` for validation.

    ``path``: a UTF-8 text file, or None for the Python standard library's top-level ``.py`` files
    concatenated in sorted order. ``max_chars``: keep only the first ``max_chars`` characters
    (short runs, tests). The vocabulary is every character of the (cut) text, so validation text
    is always encodable.
    """
    if not 0 < valid_fraction < 1:
        raise ValueError(f"load_char_corpus: valid_fraction must lie in (0, 1), got {valid_fraction!r}")
    if path is None:
        files = python_sources()
        text = "".join(_read_python(p) for p in files)
        source = f"python stdlib ({len(files)} files in {os.path.dirname(files[0])})"
    else:
        text, source = _read_utf8(path), os.fspath(path)
    if max_chars is not None:
        text = text[:int(max_chars)]
    n_valid = int(len(text) * valid_fraction)
    if n_valid < 2 or len(text) - n_valid < 2:
        raise ValueError(f"load_char_corpus: {source} has {len(text)} characters, too few to hold out "
                         f"{valid_fraction:g} of them for validation")
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return CharCorpus(vocab, ids[:-n_valid], ids[-n_valid:], source, fingerprint)
