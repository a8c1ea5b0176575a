"""The one text codec: standardize -> tokenize -> vocabulary ids -> pre-pad/pre-truncate.

Training, serving, batch scoring and explanations all encode through this module, so a
review is turned into exactly the same ids everywhere. It imports only the standard
library and numpy (never TensorFlow).

Choices (bump CODEC_VERSION when any of them changes; a model records the version it
was trained with and refuses to load under another):
- HTML line breaks and other tags become spaces; entities (``&amp;``) are unescaped.
- Unicode NFKC normalisation, then ``str.casefold`` lower-casing; curly apostrophes
  become ``'``.
- A token is a run of letters/digits, optionally joined by inner apostrophes
  (``don't``, ``director's``). All other punctuation and symbols separate tokens and
  are dropped: the IMDB word index works the same way, and "!" alone carries little
  once the words around it are kept.
- Ids follow the Keras IMDB conventions: 0 pad, 1 start (prepended to every review),
  2 out-of-vocabulary, 3 unused, words from 4 by descending training frequency (ties
  broken alphabetically), capped so that every id is < ``vocab_size``.
- Sequences are padded and truncated at the front ("pre"), exactly like
  ``keras.utils.pad_sequences`` defaults: the model reads the *last* ``maxlen`` ids.

One bound, which gives no text other ids: a review may not standardize into more than
``MAX_STANDARD_CHARS`` characters. NFKC turns one character into as many as 18 (U+FDFA), so
3.9 M characters as written became 70 M, and gigabytes of words, before anything could refuse
them; ``standardize`` refuses such a text (``TextTooLong``) before normalising it, and readers ask
``fits`` when they build a record, so a row like that is rejected, never scored.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CODEC_VERSION", "Codec", "Encoding", "FIRST_WORD_ID", "MAX_EXPANSION", "MAX_STANDARD_CHARS", "OOV", "PAD",
           "RESERVED", "START", "TextTooLong", "UNUSED", "Vocabulary", "fits", "pad", "standardize", "token_spans",
           "tokenize"]

CODEC_VERSION = 1
PAD, START, OOV, UNUSED = 0, 1, 2, 3
FIRST_WORD_ID = 4
RESERVED = ("<pad>", "<start>", "<oov>", "<unused>")

_TAG = re.compile(r"<[^>]{0,200}>")
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "`")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# ASCII fast path: bytes.translate keeps [a-z0-9'] and turns everything else into a space.
_KEEP = set(b"abcdefghijklmnopqrstuvwxyz0123456789'")
_ASCII_TABLE = bytes(c if c in _KEEP else 32 for c in range(256))
_LONE_APOSTROPHE = re.compile(r"'(?:(?<![a-z0-9]')|(?![a-z0-9]))")
_UTF8_TABLE = _ASCII_TABLE[:128] + bytes(range(128, 256))  # ... and bytes of characters beyond ASCII kept
_LONE_APOSTROPHE_ANY = re.compile(r"'(?:(?<![^\W_]')|(?![^\W_]))")

MAX_STANDARD_CHARS = 4_000_000  # characters a review may standardize into (as many as a record may hold as written)
MAX_EXPANSION = 18  # the most characters NFKC and casefold make of one (U+FDFA; a test checks every code point)


class TextTooLong(ValueError):
    """A text that would standardize into more than ``MAX_STANDARD_CHARS`` characters."""


def _within_bound(text: str) -> bool:
    """Whether NFKC and casefold make at most ``MAX_STANDARD_CHARS`` characters of ``text`` (tags gone,
    entities unescaped), without normalising it: at once when its length times ``MAX_EXPANSION`` is
    within; else by its length when it is NFKC already (casefold's own growth counted); else by each
    distinct character's expansion times its count (composing only ever shortens what that counts)."""
    if len(text) * MAX_EXPANSION <= MAX_STANDARD_CHARS:
        return True
    if unicodedata.is_normalized("NFKC", text):
        return (len(text) if text.isascii() else len(text.casefold())) <= MAX_STANDARD_CHARS
    most = sum(n * len(unicodedata.normalize("NFKD", c).casefold()) for c, n in Counter(text).items())
    return most <= MAX_STANDARD_CHARS


def _unmarked(text: str) -> str:
    """``text`` with its tags made spaces and its entities unescaped: what NFKC is given."""
    return html.unescape(_TAG.sub(" ", text))


def fits(text: str) -> bool:
    """Whether ``text`` standardizes within ``MAX_STANDARD_CHARS`` (so ``standardize`` takes it): at once for
    a text of up to ``MAX_STANDARD_CHARS / MAX_EXPANSION`` characters, else without normalising it."""
    return len(text) * MAX_EXPANSION <= MAX_STANDARD_CHARS or _within_bound(_unmarked(text))


def standardize(text: str) -> str:
    """Strip markup, normalise unicode and case so that equal words compare equal; ``TextTooLong`` for a
    text that would come out longer than ``MAX_STANDARD_CHARS`` (checked before normalising it)."""
    text = _unmarked(text)
    if not _within_bound(text):
        raise TextTooLong(f"the text would be longer than {MAX_STANDARD_CHARS:,} characters once normalised")
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, "'")
    return text


def tokenize(text: str) -> list[str]:
    """Split a raw review into word tokens (standardizes first).

    The result is the regex ``_TOKEN``'s, reached several times faster (a property test checks
    it): a byte table blanks every character but ``[a-z0-9']`` (and, beyond ASCII, letters and
    digits), apostrophes not between two letters/digits are blanked too, and ``split`` cuts the
    words.
    """
    text = standardize(text)
    if text.isascii():
        text = text.encode("ascii").translate(_ASCII_TABLE).decode("ascii")
        if "'" in text:
            text = _LONE_APOSTROPHE.sub(" ", text)
        return text.split()
    # Other text the same way, 8x faster than the regex: each character that is not ASCII and not a
    # letter or digit (``isalnum`` is the regex's ``[^\W_]``) becomes a space, and the UTF-8 bytes of
    # the letters left pass the byte table untouched.
    for char in set(text):
        if not (char.isascii() or char.isalnum()):
            text = text.replace(char, " ")
    text = text.encode("utf-8").translate(_UTF8_TABLE).decode("utf-8")
    if "'" in text:
        text = _LONE_APOSTROPHE_ANY.sub(" ", text)
    return text.split()


# ``standardize`` piece by piece: a tag, an entity (html.unescape's own pattern) or one character.
_PIECE = re.compile(r"<[^>]{0,200}>|&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)|.", re.DOTALL)


def token_spans(text: str, tokens: Sequence[str] | None = None) -> list[tuple[int, int]] | None:
    """Where each token of ``tokenize(text)`` sits in ``text``: one ``(start, end)`` per token, so an
    explanation can colour the review as it was written. ``None`` when the pieces do not add up to
    the same tokens (normalisation that joins characters across pieces): show the tokens instead.

    Each tag, entity or character is standardized on its own and remembers where it came from;
    the tokens found in the result are checked against ``tokenize`` before they are trusted."""
    tokens = tokenize(text) if tokens is None else list(tokens)
    if text.isascii() and "<" not in text and "&" not in text:  # one character in, one out
        std, origin = text.lower(), None
    else:
        pieces: list[list] = []  # [start, end, standardized source]; combining marks join the one before
        for m in _PIECE.finditer(text):
            piece = m.group()
            if len(piece) == 1 and pieces and unicodedata.combining(piece):
                pieces[-1][1:] = [m.end(), pieces[-1][2] + piece]
                continue
            if len(piece) > 1:
                piece = " " if piece[0] == "<" else html.unescape(piece)
            pieces.append([m.start(), m.end(), piece])
        parts, origin = [], []
        for start, end, piece in pieces:
            piece = unicodedata.normalize("NFKC", piece).casefold()
            parts.append(piece)
            origin.extend([(start, end)] * len(piece))
        std = "".join(parts)
        for mark in _APOSTROPHES:
            std = std.replace(mark, "'")
    found = list(_TOKEN.finditer(std))
    if [m.group() for m in found] != tokens:
        return None
    if origin is None:
        return [m.span() for m in found]
    return [(origin[m.start()][0], origin[m.end() - 1][1]) for m in found]


def pad(sequences: Sequence[Sequence[int]], maxlen: int, value: int = PAD) -> np.ndarray:
    """Pre-pad and pre-truncate to ``maxlen``, as ``keras.utils.pad_sequences`` does by default."""
    out = np.full((len(sequences), maxlen), value, dtype=np.int32)
    if maxlen == 0:
        return out
    for row, seq in enumerate(sequences):
        kept = seq[-maxlen:]
        if len(kept):
            out[row, maxlen - len(kept):] = kept
    return out


class Vocabulary:
    """Word <-> id under the Keras IMDB conventions; ``size`` is the embedding's input_dim."""

    def __init__(self, words: Sequence[str]):
        self.words: list[str] = list(words)
        self.index: dict[str, int] = {w: i + FIRST_WORD_ID for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("vocabulary has duplicate words")

    @property
    def size(self) -> int:
        return len(self.words) + FIRST_WORD_ID

    def __len__(self) -> int:
        return self.size

    @classmethod
    def from_token_lists(cls, token_lists: Iterable[Sequence[str]], vocab_size: int) -> Vocabulary:
        """Most frequent words first, ties alphabetical, at most ``vocab_size - 4`` words."""
        if vocab_size <= FIRST_WORD_ID:
            raise ValueError(f"vocab_size must be > {FIRST_WORD_ID}, got {vocab_size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
        return cls([w for w, _ in ranked[: vocab_size - FIRST_WORD_ID]])

    def word(self, token_id: int) -> str:
        if token_id < FIRST_WORD_ID:
            return RESERVED[token_id]
        return self.words[token_id - FIRST_WORD_ID]

    def save(self, path: str | Path) -> None:
        """One word per line, UTF-8; ``sentilens.artifact`` reads (and validates) it back."""
        Path(path).write_text("".join(w + "\n" for w in self.words), encoding="utf-8")


@dataclass(frozen=True)
class Encoding:
    """One review as the model sees it, with the map back to its words.

    ``positions[i]`` is where token ``i`` sits in ``padded`` (-1 when pre-truncation
    dropped it); the start id, when kept, sits just before the first kept token.
    """

    tokens: list[str]
    ids: list[int]  # one id per token, order kept (no start id)
    padded: np.ndarray  # int32 [maxlen]
    positions: np.ndarray  # int64 [len(tokens)]

    @property
    def n_truncated(self) -> int:
        return int((self.positions < 0).sum())

    @property
    def first_position(self) -> int:
        """Index in ``padded`` of the first non-pad id (``maxlen`` would mean none)."""
        return int(len(self.padded) - min(len(self.ids) + 1, len(self.padded)))


class _OOVDict(dict):
    def __missing__(self, key: str) -> int:
        return OOV


class Codec:
    """Everything needed to turn text into model input, bound to one vocabulary and maxlen."""

    def __init__(self, vocab: Vocabulary, maxlen: int):
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        self.vocab = vocab
        self.maxlen = maxlen
        self._lookup = _OOVDict(vocab.index).__getitem__  # C-speed lookups, OOV for misses
        self._get = vocab.index.get  # ... the same with OOV given: map(get, tokens, repeat(OOV)) never calls Python

    def ids(self, tokens: Sequence[str]) -> list[int]:
        return list(map(self._lookup, tokens))

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> int32 [n, maxlen]. Only the tail that survives truncation is looked up, and all of
        a batch's ids are looked up and placed at once: per-row numpy assignment from Python lists was
        the largest cost of batch scoring's reader (bench/batch.py)."""
        maxlen, n = self.maxlen, len(texts)
        tails = [tokens if len(tokens) <= maxlen else tokens[-maxlen:] for tokens in map(tokenize, texts)]
        kept = np.fromiter(map(len, tails), np.int64, count=n)
        total = int(kept.sum())
        ids = np.fromiter(map(self._get, chain.from_iterable(tails), repeat(OOV, total)), np.int32, count=total)
        out = np.zeros((n, maxlen), dtype=np.int32)
        row = np.repeat(np.arange(n), kept)
        # the i-th kept token of a row of k tokens sits at column maxlen - k + i
        out[row, np.arange(total) - np.repeat(np.cumsum(kept) - kept, kept) + np.repeat(maxlen - kept, kept)] = ids
        short = np.flatnonzero(kept < maxlen)  # a review shorter than maxlen keeps its start id
        if maxlen > 0 and len(short):
            out[short, maxlen - kept[short] - 1] = START
        return out

    def encode(self, text: str) -> Encoding:
        """One text with its token <-> position alignment, for explanations."""
        tokens = tokenize(text)
        ids = self.ids(tokens)
        padded = pad([[START] + ids], self.maxlen)[0]
        offset = self.maxlen - 1 - len(ids)  # position of the start id, may be negative
        positions = np.arange(1, len(ids) + 1, dtype=np.int64) + offset
        positions[positions < 0] = -1
        return Encoding(tokens=tokens, ids=ids, padded=padded, positions=positions)
