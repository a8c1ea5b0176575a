import json
import tarfile

import pytest

from sentilens.errors import DataError
from sentilens.sources import read_aclimdb, read_any, read_table
from trainer.data import Split, load_extra, load_files


def test_aclimdb_directory_and_tarball_give_the_same_sorted_records(acl_dir, acl_tar):
    from_dir, from_tar = list(read_aclimdb(acl_dir, sort=True)), list(read_aclimdb(acl_tar, sort=True))
    assert [(r.id, r.text, r.label, r.split) for r in from_dir] == [(r.id, r.text, r.label, r.split) for r in from_tar]
    assert len(from_dir) == 12
    assert {(r.split, r.label) for r in from_dir} == {("train", 0), ("train", 1), ("test", 0), ("test", 1)}
    assert from_dir[0].id.startswith("test/neg/0_")


def test_load_files_builds_train_and_test_splits_with_sha(acl_tar):
    corpus = load_files(acl_tar)
    assert len(corpus.train) == 6 and len(corpus.test) == 6
    assert sorted(corpus.train.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert corpus.source["kind"] == "aclImdb" and len(corpus.source["sha256"]) == 64


def test_aclimdb_errors_name_the_path_and_the_problem(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_files(tmp_path / "missing.tar.gz")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.txt").write_text("hello")
    with pytest.raises(DataError, match=r"flat: no reviews in the aclImdb layout"):
        list(read_aclimdb(tmp_path / "flat"))
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(DataError, match="bad.tar.gz: not a readable") as err:
        list(read_aclimdb(bad))
    # one line that says what is wrong, not tarfile's list of every method it tried
    assert "not a tar archive, plain or compressed with gzip, bz2 or xz" in str(err.value)
    assert "\n" not in str(err.value) and "method" not in str(err.value)


def test_empty_split_is_reported(tmp_path):
    from tests.synthetic import write_aclimdb

    tree = write_aclimdb(tmp_path, per_folder=2)
    for f in (tree / "test" / "neg").iterdir():
        f.unlink()
    with pytest.raises(DataError, match="test/: the split has only positive reviews"):
        load_files(tree)
    for f in (tree / "test" / "pos").iterdir():
        f.unlink()
    with pytest.raises(DataError, match="test/: the split is empty"):
        load_files(tree)


def test_non_utf8_review_is_named(tmp_path):
    from tests.synthetic import write_aclimdb

    tree = write_aclimdb(tmp_path, per_folder=1)
    victim = next((tree / "train" / "pos").iterdir())
    victim.write_bytes(b"caf\xe9")
    with pytest.raises(DataError, match=f"train/pos/{victim.name}: not UTF-8"):
        list(read_aclimdb(tree))


def test_csv_and_jsonl_rows_with_labels_and_ids(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text('id,review,label\na1,"A fine, ""quoted""\nmultiline review",pos\na2,Dull,0\n,No id,Positive\n')
    rows = list(read_table(csv))
    assert [(r.id, r.label) for r in rows] == [("a1", 1), ("a2", 0), ("5", 1)]  # ids default to the line number
    assert rows[0].text == 'A fine, "quoted"\nmultiline review'
    assert [r.where.rsplit(":", 1)[1] for r in rows] == ["2", "4", "5"]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(json.dumps({"text": "Lovely", "label": 1}) + "\n\n" + json.dumps({"text": "Grim", "label": "neg"}) + "\n")
    assert [(r.text, r.label, r.id) for r in read_any(jsonl)] == [("Lovely", 1, "1"), ("Grim", 0, "3")]
    split = Split.from_records(read_table(jsonl), "x")
    assert split.labels.tolist() == [1, 0]


@pytest.mark.parametrize("content, message", [
    ("text,label\nok,maybe\n", r"r.csv:2: label 'maybe' is not one of"),
    ("body,label\nok,1\n", r"no text column \(looked for text or review\)"),
    ("", "empty file"),
    ("text,label\nok,1,extra\n", r"r.csv:2: more fields than the header"),
])
def test_csv_errors_name_file_row_and_problem(tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        list(read_table(path))


def test_jsonl_and_encoding_errors(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "ok", "label": 1}\n{broken\n')
    with pytest.raises(DataError, match=r"r.jsonl:2: not valid JSON"):
        list(read_table(path))
    path.write_text('{"text": 5}\n')
    with pytest.raises(DataError, match=r"r.jsonl:1: 'text' is missing or not a string"):
        list(read_table(path))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"text,label\ncaf\xe9,1\n")
    with pytest.raises(DataError, match="latin.csv:2: the text is not UTF-8"):
        list(read_table(latin))
    with pytest.raises(DataError, match="unknown format .xlsx"):
        list(read_table(tmp_path / "r.xlsx" if (tmp_path / "r.xlsx").write_text("x") else None))


def test_training_needs_labels(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("text,label\nfine,1\nunlabelled,\n")
    with pytest.raises(DataError, match=r"r.csv:3: no label"):
        load_files(path)
    said = []  # extra rows (an annotation export) may hold skipped items: left out, and said so
    assert load_extra([path], log=said.append).texts == ["fine"]
    assert said == ["--extra r.csv: left out 1 row without a label (skipped while annotating, or votes that disagree "
                    "and no adjudication)"]


def test_table_data_gets_a_seeded_holdout(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"text": f"review {i}", "label": i % 2}) + "\n" for i in range(20)))
    a, b = load_files(path, seed=5), load_files(path, seed=5)
    assert len(a.train) == 16 and len(a.test) == 4
    assert a.test.texts == b.test.texts
    assert set(a.train.texts).isdisjoint(a.test.texts)


def test_tarball_members_outside_the_layout_are_ignored(tmp_path, acl_tar):
    # the real archive also carries README and imdb.vocab
    extra = tmp_path / "with_readme.tar.gz"
    readme = tmp_path / "README"
    readme.write_text("about the data")
    with tarfile.open(acl_tar) as src, tarfile.open(extra, "w:gz") as dst:
        for m in src:
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        dst.add(readme, arcname="aclImdb/README")
    assert len(list(read_aclimdb(extra))) == 12


def test_extra_rows_from_the_test_split_are_dropped_and_one_class_is_fine(acl_tar, tmp_path, capsys):
    from trainer.data import merge_extra

    corpus = load_files(acl_tar)
    leaked = corpus.test.texts[0]
    extra_file = tmp_path / "annotations.jsonl"
    extra_file.write_text(json.dumps({"text": leaked.upper() + "!", "label": 1}) + "\n"  # same words
                          + json.dumps({"text": "a brand new splendid review", "label": 1}) + "\n")
    extra = load_extra([extra_file])  # one class only: accepted
    assert extra.labels.tolist() == [1, 1]
    merged = merge_extra(corpus, extra, log=print)
    assert len(merged.train) == len(corpus.train) + 1 and "a brand new splendid review" in merged.train.texts
    assert leaked.upper() + "!" not in merged.train.texts
    assert merged.source["extra_dropped_as_test"] == 1
    assert "dropped 1 of 2 rows whose text is in the test split" in capsys.readouterr().out


def test_a_rows_other_columns_ride_along_bounded_and_never_cost_the_row(tmp_path):
    """Issue 20.7: columns beyond id/text/label become the record's metadata (text, in file order), at most
    20 and each cut to its bound; a missing or undecodable cell is left out, the row kept."""
    from sentilens.sources import MAX_EXTRA_COLUMNS, MAX_EXTRA_VALUE, read_any

    path = tmp_path / "m.jsonl"
    rows = [{"id": "a", "text": "fine film", "label": 1, "year": 2001, "genre": "drama", "note": None},
            {"id": "b", "text": "dull film", "bad": "\udcff", "long": "x" * 5000,
             **{f"c{i}": i for i in range(30)}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = read_any(path)
    assert a.extra == (("year", "2001"), ("genre", "drama"))
    assert len(b.extra) == MAX_EXTRA_COLUMNS and dict(b.extra)["long"] == "x" * MAX_EXTRA_VALUE
    assert "bad" not in dict(b.extra) and b.text == "dull film"


def test_a_format_registered_in_one_place_is_read_uploaded_and_written(tmp_path, tiny_model_dir):
    """Issue 32.4: a throwaway tab-separated format, registered once where its reader and writer are
    defined, is taken by the readers, the upload check and serve.batch (as input and as output); once
    unregistered, by none of them."""
    import csv
    import functools
    import io

    from sentilens.errors import InputError
    from sentilens.sources import Format, make_record, register, unregister
    from serve.app.uploads import read_upload, upload_types
    from serve.jobs.batch import check_paths, score_file
    from serve.runtime import SentimentModel

    def tsv_rows(path, f, text_column):
        def parse(line, raw):
            text, label = raw.rstrip("\r\n").split("\t")
            return make_record({"text": text, "label": label}, "text", f"{path}:{line}", str(line))

        return ((n, functools.partial(parse, n, raw)) for n, raw in enumerate(f, start=1))

    class TsvWriter:
        def __init__(self, raw, columns, *, floats=(), raw_csv=False):
            self.f = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            self.f.write("\t".join(columns) + "\n")

        def write(self, rows):
            self.f.writelines("\t".join(str(c) for c in r) + "\n" for r in rows)

        def finish(self):
            self.f.flush()
            self.f.detach()

    src, out = tmp_path / "reviews.tsv", tmp_path / "scored.tsv"
    src.write_text("the plot was splendid\tpos\nthe music was dreadful\tneg\n")
    register(Format("tsv", (".tsv",), text_rows=tsv_rows, write=TsvWriter))
    try:
        assert [(r.text, r.label) for r in read_any(src)] == [("the plot was splendid", 1),
                                                              ("the music was dreadful", 0)]
        assert ".tsv" in upload_types() and [r.label for r in read_upload(src, lambda where, problem: None)] == [1, 0]
        check_paths(src, out)
        summary = score_file(SentimentModel(tiny_model_dir), src, out, progress=False)
        assert summary["scored"] == 2 and summary["metrics"]["n"] == 2
        written = list(csv.DictReader(io.StringIO(out.read_text()), delimiter="\t"))
        assert [r["true_label"] for r in written] == ["pos", "neg"]
    finally:
        unregister("tsv")
    with pytest.raises(DataError, match=r"unknown format \.tsv; expected an aclImdb directory"):
        read_any(src)
    with pytest.raises(InputError, match="unknown format .tsv"):
        list(read_upload(src, lambda where, problem: None))
    assert ".tsv" not in upload_types()
    with pytest.raises(DataError, match=r"--output must end in \.csv, \.jsonl or \.parquet"):
        check_paths(src, tmp_path / "again.tsv")


def test_one_threshold_rule_for_a_probability_an_array_and_a_logit():
    """Issue 32.4: labels and the threshold are defined once (sentilens.labels); the scalar, the
    vectorised and the logit forms of the rule agree, at the threshold too."""
    import numpy as np

    from sentilens.labels import NEG, POS, THRESHOLD, label_of, parse_label, positive, positive_logit

    p = np.array([0.0, THRESHOLD - 1e-9, THRESHOLD, 0.9, 1.0])
    assert [label_of(x) for x in p] == [NEG, NEG, POS, POS, POS]
    assert positive(p).tolist() == [label_of(x) == POS for x in p]
    assert positive_logit(np.array([-3.0, -1e-12, 0.0, 2.0])).tolist() == [False, False, True, True]
    assert [parse_label(v, "f:1") for v in ("POS", "negative", "1.0", 0, "", None)] == [1, 0, 1, 0, None, None]
    with pytest.raises(DataError, match="'maybe' is not one of 0, 1, pos, neg, positive, negative"):
        parse_label("maybe", "f:1")
