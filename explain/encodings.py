"""The three ways to turn a review into numbers, side by side, as the model's codec does it.

bag of words (order lost) -> integer encoding (order kept) -> the padded vector the model
really reads (``maxlen`` ids, pad zeros first, the oldest words dropped when too long).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sentilens.codec import OOV, PAD, START, Codec, Encoding
from sentilens.wording import count

__all__ = ["EncodingView", "encoding_view", "truncation_notice"]


@dataclass(frozen=True)
class EncodingView:
    tokens: list[str]
    bag_of_words: list[tuple[str, int]]  # most frequent first, then alphabetical
    integer_encoding: list[tuple[str, int]]  # (word, id) in review order
    padded: list[dict]  # a row per position from the first real id on: position, id, word, kind (start/word/oov)
    truncated: list[str]  # words the model never reads
    notice: str
    padding: int  # how many pad zeros come before ``padded`` (``Encoding.first_position``): a count, not rows

    def to_dict(self) -> dict:
        """For /explain (fresh lists: the view is frozen and may be cached)."""
        return {"tokens": list(self.tokens), "bag_of_words": [list(p) for p in self.bag_of_words],
                "integer_encoding": [list(p) for p in self.integer_encoding], "padded": [dict(r) for r in self.padded],
                "truncated": list(self.truncated), "notice": self.notice, "padding": self.padding}


def _kind(token_id: int) -> str:
    return {PAD: "pad", START: "start", OOV: "oov"}.get(token_id, "word")


def encoding_view(codec: Codec, text: str, enc: Encoding | None = None) -> EncodingView:
    """All three encodings of ``text``; pass ``enc`` when it is already encoded."""
    enc = enc or codec.encode(text)
    counts = Counter(enc.tokens)
    bag = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
    words_at = {int(p): t for t, p in zip(enc.tokens, enc.positions) if p >= 0}
    first = enc.first_position
    padded = []
    for pos, token_id in enumerate(enc.padded[first:].tolist(), start=first):
        kind = _kind(token_id)
        word = words_at.get(pos, codec.vocab.word(token_id))
        padded.append({"position": pos, "id": token_id, "word": word, "kind": kind})
    return EncodingView(
        tokens=enc.tokens,
        bag_of_words=bag,
        integer_encoding=list(zip(enc.tokens, enc.ids)),
        padded=padded,
        truncated=enc.tokens[: enc.n_truncated],
        notice=truncation_notice(len(enc.tokens), enc.n_truncated, codec.maxlen),
        padding=first,
    )


def truncation_notice(n_words: int, n_truncated: int, maxlen: int) -> str:
    if n_words == 0:
        return "Your review has no words the model can read; it sees only padding and the start marker."
    if n_truncated:
        seen = n_words - n_truncated
        return (f"Your review has {count(n_words, 'word')}; the model read only the last {seen:,} "
                f"(it reads at most {count(maxlen, 'id')}). The first {n_truncated:,} were dropped.")
    pads = maxlen - n_words - 1
    every = "it" if n_words == 1 else "all of them"
    return (f"Your review has {count(n_words, 'word')}; the model read {every} after "
            f"{count(pads, 'padding zero')} and the start marker.")
