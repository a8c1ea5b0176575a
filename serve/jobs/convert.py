"""Convert any accepted source into one Parquet file (id, text, label), e.g. the aclImdb test split
for ``python -m serve.spark``, which reads CSV, JSONL, TXT and Parquet but not tar archives:

    python -m serve.convert ../shared/data/aclImdb_v1_labeled.tar.gz -o imdb_test.parquet --split test

Rows that cannot be read are reported (the first few) and left out; needs pyarrow (the spark extra:
without it, one line says so before anything is read). Rows are written in batches bounded by their
text (``sentilens.sources.chunks``: at most ``CHUNK`` rows and ``CHUNK_CHARS`` characters), as
serve.batch reads them, so memory stays flat whatever the reviews' lengths. The file is written beside
its target and renamed into place when complete (``sentilens.staging``): a failure (a full disk
included: one line, exit 2) or a stop leaves any existing file as it was and no temporary behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sentilens.cli import command, parser
from sentilens.sources import ACCEPTED, ID_HELP, chunks, read_any
from sentilens.staging import staged
from sentilens.wording import count

__all__ = ["EXAMPLES", "main", "to_parquet"]


def to_parquet(src: Path, out: Path, split: str | None = None, text_column: str | None = None,
               id_column: str | None = None) -> tuple[int, list[str]]:
    """Write ``src``'s records (of one aclImdb split when asked) to ``out``; (rows written, problems)."""
    from sentilens.sources.parquet import abandon, parquet_modules
    from serve.jobs.batch import check_paths

    pa, pq = parquet_modules()
    check_paths(src, out)
    problems: list[str] = []
    records = read_any(src, text_column, lambda where, problem: problems.append(f"{where}: {problem}"),
                       id_column=id_column)
    wanted = (r for r in records if split is None or r.split == split)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.int8())])
    n = 0
    with staged(out) as (f,):
        writer = pq.ParquetWriter(f, schema)
        try:
            for chunk in chunks(wanted):
                writer.write_table(pa.Table.from_pylist([{"id": r.id, "text": r.text, "label": r.label}
                                                         for r in chunk], schema))
                n += len(chunk)
            writer.close()  # the footer: where a full disk often shows
        except BaseException:
            abandon(writer)  # else its finaliser may write into the removed temporary when collected
            raise
    return n, problems


EXAMPLES = ("sentilens convert ../shared/data/aclImdb_v1_labeled.tar.gz -o imdb_test.parquet --split test",
            "sentilens convert reviews.jsonl -o reviews.parquet --text-column body")


@command("python -m serve.convert", failure_note="existing files are unchanged")
def main(argv: list[str] | None = None) -> int:
    """Convert any accepted source into one Parquet file (id, text, label)."""
    p = parser("python -m serve.convert", main.__doc__, EXAMPLES)
    p.add_argument("input", help=ACCEPTED)
    p.add_argument("-o", "--output", required=True, help="the .parquet file to write")
    p.add_argument("--split", choices=["train", "test"], help="aclImdb only: keep one split")
    p.add_argument("--text-column", help="CSV/JSONL column with the review (default: text or review)")
    p.add_argument("--id-column", help=ID_HELP)
    args = p.parse_args(argv)
    out = Path(args.output)
    if out.suffix.lower() != ".parquet":
        p.error("--output must end in .parquet")
    n, problems = to_parquet(Path(args.input), out, args.split, args.text_column, args.id_column)
    print(f"wrote {count(n, 'review')} to {out}" + (f"; left out {count(len(problems), 'unreadable row')} (first: "
                                             f"{problems[0]})" if problems else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
