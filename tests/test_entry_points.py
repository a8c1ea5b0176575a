"""The same hostile files through every in-process entry point: serve.batch, the Annotate upload and the
Compare upload score the same rows and reject the same ones, and every row is accounted for
(serve.spark does the same in test_spark.py)."""

import csv

from tests.hostile_files import hostile_files


def batch(model_dir, src, out):
    from serve.jobs.batch import main

    assert main([str(src), "-o", str(out), "--model", str(model_dir), "--quiet"]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        scored = [r["id"] for r in csv.DictReader(f)]
    with open(f"{out}.rejected.csv", newline="", encoding="utf-8") as f:
        rejected = [(r["where"].rsplit(":", 1)[1], r["problem"]) for r in csv.DictReader(f)]
    return scored, rejected


def test_batch_annotate_and_compare_take_the_same_rows_and_refuse_the_same_ones(tiny_model_dir, tmp_path):
    from serve.app.annotate_intake import load_reviews
    from serve.store.annotations import AnnotationStore
    from serve.jobs.compare import compare
    from serve.runtime import SentimentModel

    model = SentimentModel(tiny_model_dir)
    for src in hostile_files(tmp_path, parquet=False):  # uploads take no Parquet (no pyarrow when serving)
        scored, rejected = batch(tiny_model_dir, src, tmp_path / f"{src.name}.out.csv")
        assert scored and rejected, src.name  # each file has both
        store = AnnotationStore(tmp_path / f"{src.name}.sqlite3")
        report = load_reviews(store, model, src)
        with store._connect() as db:
            queued = [row[0].partition("#")[2] for row in db.execute("SELECT item_id FROM items ORDER BY rowid")]
        # the same rows in the same order; an id the file repeats is kept apart in the queue as ID~k
        assert len(set(queued)) == len(queued) == len(scored), src.name
        assert all(q == s or q.startswith(f"{s}~") for q, s in zip(queued, scored)), (src.name, queued, scored)
        assert f"{len(rejected):,} row" in report and rejected[0][1] in report, (src.name, report)
        summary = compare(model, model, src)
        assert (summary["reviews"], summary["rejected"]) == (len(scored), len(rejected)), src.name
