"""One file per guard serve.batch has, written by the tests themselves: every entry point (serve.batch,
serve.spark, the Annotate and Compare uploads) must score and reject the same rows for the same reasons."""

from pathlib import Path


def hostile_files(folder: Path, parquet: bool = True) -> list[Path]:
    rows = [f"r{i},the plot was splendid {i},pos" for i in range(30)]
    rows[2] = 'r2,"an unclosed quote, dreadful,neg'  # nothing after it closes the quote
    files = {
        "unclosed.csv": "id,text,label\n" + "\n".join(rows) + "\n",
        "dupkeys.jsonl": '{"id": "a", "text": "splendid", "text": "dreadful"}\n{"id": "b", "text": "splendid"}\n',
        "numbers.jsonl": '{"id": 1e400, "text": "splendid"}\n{"id": Infinity, "text": "splendid"}\n'
                         '{"id": NaN, "text": "splendid"}\n{"id": 1.5, "text": "dreadful"}\n',
        "long.txt": "splendid " * 450_000 + "\nthe music was dreadful\n",  # 4.05 M characters, then a review
        "latin1.csv": "id,text\nx1,caf\xe9 splendid\nx2,dreadful\n",
        "repeats.csv": "id,text\n1,splendid\n1~2,dreadful\n1,splendid night\n,\n",
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("latin-1" if name == "latin1.csv" else "utf-8"))
    out = [folder / n for n in files]
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": ["p1", "p2"], "text": pa.array([b"splendid", b"dreadful"], pa.binary())}),
                       folder / "binary.parquet")
        out.append(folder / "binary.parquet")
    return out
