"""The codec as a standard ``tokenizer.json`` (Hugging Face ``tokenizers``), so any runtime of that
library (Python, Rust, JavaScript) turns text into the model's ids without this project:

    tok = tokenizers.Tokenizer.from_file("exported/tokenizer.json")
    ids = tok.encode(review).ids            # [1 (start), word ids...], as sentilens.codec gives them
    ids = ([0] * 1000 + ids)[-1000:]        # pre-pad and pre-truncate to maxlen: the model's input

The file is written from the vocabulary alone (no library needed to write it) and states the codec's
rules in the library's terms: tags become spaces, the HTML entities that occur in reviews are
unescaped, NFKC, lower case plus the 183 characters whose case folding differs from lower-casing
(``ß`` -> ``ss``...), curly apostrophes, everything but letters, digits and inner apostrophes becomes a
space, then whitespace splits the words and the word-level model looks them up (``<oov>`` for misses).
``sentilens.codec`` stays the definition: the tests hold this file to it on all 50,000 IMDB reviews and
on generated Unicode text. Where it cannot be exact (an HTML entity outside ``ENTITIES``, characters
assigned after Python's Unicode version) the codec's ids are the right ones.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from sentilens.codec import FIRST_WORD_ID, OOV, RESERVED, START

__all__ = ["ENTITIES", "tokenizer_json", "tokenizer_spec"]

TAG = r"<[^>]{0,200}>"  # sentilens.codec._TAG
# html.unescape for the entities found in reviews, the ones whose text could change a word: ``&amp;``
# last, so that ``&amp;lt;`` stays ``&lt;`` as html.unescape leaves it; legacy forms without ``;`` after.
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&nbsp;", "\xa0"), ("&#39;", "'"),
            ("&#039;", "'"), ("&#x27;", "'"), ("&#34;", '"'), ("&#38;", "&"), ("&#160;", "\xa0"),
            ("&#8216;", "\u2018"), ("&#8217;", "\u2019"), ("&#8220;", "\u201c"), ("&#8221;", "\u201d"),
            ("&#8211;", "\u2013"), ("&#8212;", "\u2014"), ("&#8230;", "\u2026"), ("&amp;", "&"),
            ("&lt", "<"), ("&gt", ">"), ("&quot", '"'), ("&nbsp", "\xa0"), ("&amp", "&"))
APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "`")  # sentilens.codec._APOSTROPHES
CASED_BELOW = 0x20000
WORD = r"\p{L}\p{N}"  # str.isalnum: Unicode letters and numbers (checked by the tests for every character)


@functools.cache
def _casefold_specials() -> list[tuple[str, str]]:
    """(lower, casefold) for every character whose case folding is not its lower case: applied after
    ``Lowercase``, they make it ``str.casefold``. Every cased character lies below U+20000 (a test
    checks the whole range)."""
    found = {}
    for cp in range(CASED_BELOW):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        lower, folded = c.lower(), c.casefold()
        if lower != folded:
            found[lower] = folded
    return sorted(found.items())


def _replace(pattern: str, content: str, regex: bool = False) -> dict:
    return {"type": "Replace", "pattern": {"Regex" if regex else "String": pattern}, "content": content}


def tokenizer_spec(words: Sequence[str]) -> dict:
    """The ``tokenizer.json`` document for a vocabulary (``Vocabulary.words``: ids from 4 on)."""
    normalizers = [_replace(TAG, " ", regex=True)]
    normalizers += [_replace(entity, text) for entity, text in ENTITIES]
    normalizers += [{"type": "NFKC"}, {"type": "Lowercase"}]
    normalizers += [_replace(lower, folded) for lower, folded in _casefold_specials()]
    normalizers += [_replace(mark, "'") for mark in APOSTROPHES]
    normalizers += [_replace(rf"[^{WORD}' ]+", " ", regex=True),  # what cannot be in a word separates words
                    _replace(rf"(?<![{WORD}])'|'(?![{WORD}])", " ", regex=True)]  # only inner apostrophes stay
    vocab = {token: i for i, token in enumerate(RESERVED)} | {w: i + FIRST_WORD_ID for i, w in enumerate(words)}
    start = RESERVED[START]
    sequence = {"Sequence": {"id": "A", "type_id": 0}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": start, "type_id": 0}}, sequence],
                           "pair": [sequence, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {start: {"id": start, "ids": [START], "tokens": [start]}}},
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": RESERVED[OOV]},
    }


def tokenizer_json(words: Sequence[str]) -> str:
    """``tokenizer_spec`` as the file's text (deterministic: the same vocabulary gives the same bytes)."""
    return json.dumps(tokenizer_spec(words), ensure_ascii=False, separators=(",", ":")) + "\n"
