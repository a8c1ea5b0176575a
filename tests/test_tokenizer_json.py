"""tokenizer.json: with Hugging Face ``tokenizers`` alone, a runtime gets exactly the model's ids before
padding ([start] + word ids), as sentilens.codec gives them; the artifact contract holds the file to the
codec and vocabulary; a learned version that grows the vocabulary writes its own."""

import json
import re
import shutil
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from sentilens.artifact import Artifact, TOKENIZER_FILES, add_tokenizer
from sentilens.codec import START, Codec, tokenize
from sentilens.errors import ModelError
from sentilens.tokenizer_json import CASED_BELOW, ENTITIES, WORD, tokenizer_json
from serve.runtime import DEFAULT_DIR, SentimentModel
from tests.conftest import SHARED_DATA

tokenizers = pytest.importorskip("tokenizers", reason="the test extra installs tokenizers")
ART = Artifact.load(DEFAULT_DIR)
CODEC = Codec(ART.vocabulary, ART.codec.maxlen)
TOKENIZER = tokenizers.Tokenizer.from_file(str(DEFAULT_DIR / TOKENIZER_FILES["tokenizer"]))


def model_ids(text: str) -> list[int]:
    return [START] + CODEC.ids(tokenize(text))


# Text as reviews are written, in several scripts: letters and marks of Latin, Greek, Cyrillic, Arabic,
# Devanagari, CJK, digits of other scripts, casefold specials (the sharp s, final sigma, Cherokee), NFKC
# expansions (ligatures, circled digits, fullwidth forms, U+FDFA), apostrophes of every kind, tags and the
# entities the file unescapes.
PIECES = st.one_of(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z"), exclude_characters="&"),
    st.sampled_from(["ß", "ẞ", "ς", "Σ", "ﬁ", "①", "Ａ", "ﷺ", "İ", "ᏸ", "Ꭰ", "’", "‘", "ʼ", "`", "'", "<br />",
                     "<i>", "< b", "\u0301", "ǅ", "٣", "३"]),
    st.sampled_from([entity for entity, _ in ENTITIES]),
    st.sampled_from(["the", "film", "don't", "rock'n'roll", " ", "  ", "\n", "\t"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_the_file_gives_the_codecs_ids_on_generated_unicode(text):
    assert TOKENIZER.encode(text).ids == model_ids(text)


def test_the_file_gives_the_codecs_ids_on_imdb_reviews():
    """A sample here (the whole 50,000: ``python -m bench.tokenizer``); a review may differ only by an
    HTML entity the file does not unescape."""
    from sentilens.sources import read_aclimdb

    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is not here")
    texts = [r.text for i, r in zip(range(4000), read_aclimdb(SHARED_DATA, split="test")) if i % 2 == 0]
    differ = [t for t, e in zip(texts, TOKENIZER.encode_batch(texts)) if e.ids != model_ids(t)]
    known = {entity for entity, _ in ENTITIES}
    assert all(set(re.findall(r"&#?\w+;?", t)) - known for t in differ)
    assert len(differ) <= len(texts) // 1000


def test_the_word_class_is_str_isalnum_and_case_folding_is_complete():
    import sys

    assert WORD == r"\p{L}\p{N}"
    assert all(c.isalnum() == (unicodedata.category(c)[0] in "LN")
               for c in map(chr, range(sys.maxunicode + 1)) if not 0xD800 <= ord(c) <= 0xDFFF)
    assert all(chr(cp).lower() == chr(cp).casefold() for cp in range(CASED_BELOW, sys.maxunicode + 1)
               if not 0xD800 <= cp <= 0xDFFF)


def test_the_contract_holds_the_file_to_the_codec(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(DEFAULT_DIR, copy)
    path = copy / TOKENIZER_FILES["tokenizer"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["model"]["vocab"]["superb"] = 2  # a consistent forgery: the metadata records the new file's sha256
    path.write_text(json.dumps(doc), encoding="utf-8")
    art = Artifact.load(DEFAULT_DIR)
    art.write(copy)
    with pytest.raises(ModelError, match="tokenizer.json: does not state this model's codec and vocabulary"):
        Artifact.load(copy)
    add_tokenizer(art, copy)  # written again from the vocabulary: accepted
    art.write(copy)
    assert Artifact.load(copy).files["tokenizer"] == "tokenizer.json"
    assert path.read_text(encoding="utf-8") == tokenizer_json(art.vocabulary.words)


def test_a_learned_version_that_grows_the_vocabulary_writes_its_own(tmp_path, tiny_model_dir):
    from serve.learn.learner import learn

    parent_dir = tmp_path / "parent"
    shutil.copytree(tiny_model_dir, parent_dir)
    art = Artifact.load(parent_dir)
    add_tokenizer(art, parent_dir)
    art.write(parent_dir)
    parent = SentimentModel(parent_dir)
    texts = [f"the plot was {'zinger' if i % 2 else 'clunker'} and long" for i in range(40)]
    learn(parent, texts, [i % 2 for i in range(40)], tmp_path / "v1", accept_audit=True)  # (the audit: test_learn)
    version = SentimentModel(tmp_path / "v1")  # the contract: its tokenizer.json states the grown vocabulary
    tok = tokenizers.Tokenizer.from_file(str(tmp_path / "v1" / TOKENIZER_FILES["tokenizer"]))
    for text in ("a zinger of a film", "what a clunker"):
        assert tok.encode(text).ids == [START] + version.codec.ids(tokenize(text))
    assert version.codec.vocab.index["zinger"] in tok.encode("zinger").ids
