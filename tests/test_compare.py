"""serve.compare: two models on the same reviews, accuracy of each, agreement and what changed."""

import csv

from serve.compare import compare, main
from serve.runtime import SentimentModel


def test_a_model_against_itself_agrees_everywhere(tiny_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text,label\na,the plot was splendid,pos\nb,the music was dreadful,neg\nc,,pos\n")
    model = SentimentModel(tiny_model_dir)
    s = compare(model, model, src)
    assert s["reviews"] == 2 and s["rejected"] == 1 and s["agreement"] == 1.0 and s["changed"] == []
    assert s["a"] == s["b"] and s["fixed"] == s["broken"] == 0


def test_two_models_with_their_own_vocabularies(tiny_model_dir, committed_model_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    rows = ['{"text": "A warm, funny and beautifully acted film.", "label": "pos"}',
            '{"text": "the plot was splendid", "label": "pos"}',
            '{"text": "the music was dreadful", "label": "neg"}',
            '{"text": "=cmd dreadful and dull", "label": "neg", "id": "=x"}',
            '{"text": "Dull, long and badly written; I was bored.", "label": "neg"}']
    src.write_text("\n".join(rows) + "\n")
    out = tmp_path / "changed.csv"
    assert main([str(tiny_model_dir), str(committed_model_dir), str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("5 reviews (0 rows could not be read); the two models agree on ")
    assert "a: " in printed and "b: " in printed and "became right" in printed
    s = compare(SentimentModel(tiny_model_dir), SentimentModel(committed_model_dir), src)
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    assert [r["id"] for r in written] == [("'" + c["id"]) if c["id"].startswith("=") else c["id"]
                                          for c in s["changed"]]
    assert s["fixed"] - s["broken"] == round((s["b"]["accuracy"] - s["a"]["accuracy"]) * 5)
