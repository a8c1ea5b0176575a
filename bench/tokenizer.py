"""exported/tokenizer.json against the codec on all 50,000 IMDB reviews, and what each costs.

    python -m bench.tokenizer [--data ../shared/data/aclImdb_v1_labeled.tar.gz]

Prints how many reviews get different ids from Hugging Face ``tokenizers`` with the file than from
``sentilens.codec`` (and the entities that cause it), then the CPU seconds each needs to turn the 25,000
test reviews into ids: the codec's bulk path (``Codec.encode_batch``), and ``tokenizers`` with the file and
with no normalisation at all (whitespace split and word lookup only: the floor of that library's per-token
cost). One thread each (RAYON_NUM_THREADS=1), measured by process time.
"""

from __future__ import annotations

import argparse
import os
import re
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")

from bench.common import DATA, table  # noqa: E402
from sentilens.artifact import TOKENIZER_FILES  # noqa: E402
from sentilens.codec import START, Codec, tokenize  # noqa: E402
from sentilens.tokenizer_json import ENTITIES  # noqa: E402
from serve.runtime import DEFAULT_DIR, SentimentModel  # noqa: E402


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> dict:
    import tokenizers

    p = argparse.ArgumentParser(prog="python -m bench.tokenizer", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA))
    args = p.parse_args(argv)
    from sentilens.sources import read_aclimdb

    records = list(read_aclimdb(args.data))
    texts = [r.text for r in records]
    model = SentimentModel(DEFAULT_DIR)
    codec = Codec(model.artifact.vocabulary, model.artifact.codec.maxlen)
    tok = tokenizers.Tokenizer.from_file(str(DEFAULT_DIR / TOKENIZER_FILES["tokenizer"]))
    encoded = tok.encode_batch_fast(texts)
    differ = [t for t, e in zip(texts, encoded) if e.ids != [START] + codec.ids(tokenize(t))]
    known = {entity for entity, _ in ENTITIES}
    causes = sorted({m for t in differ for m in re.findall(r"&#?\w+;?", t)} - known)
    print(f"tokenizer.json vs the codec on {len(texts):,} IMDB reviews: {len(differ)} differ "
          f"({len(differ) / len(texts):.3%}); entities the file does not unescape in them: {', '.join(causes) or '-'}")
    test = [r.text for r in records if r.split == "test"]
    plain = tokenizers.Tokenizer(tokenizers.models.WordLevel(tok.get_vocab(), unk_token="<oov>"))
    plain.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    rows = [("25,000 test reviews to ids, one thread", "CPU s", "reviews/s")]
    figures = {}
    for name, fn in (("sentilens.codec (Codec.encode_batch, padded)", lambda: codec.encode_batch(test)),
                     ("tokenizers + tokenizer.json (encode_batch_fast)", lambda: tok.encode_batch_fast(test)),
                     ("tokenizers, split and lookup only (no normalisation)", lambda: plain.encode_batch_fast(test))):
        seconds = min(cpu(fn) for _ in range(3))
        figures[name] = seconds
        rows.append((name, f"{seconds:.2f}", f"{len(test) / seconds:,.0f}"))
    print(table(rows))
    return {"differ": len(differ), "reviews": len(texts), "causes": causes, "cpu_seconds": figures}


if __name__ == "__main__":
    main()
