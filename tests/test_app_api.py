"""The app's named API endpoints over HTTP with gradio_client, on loopback. Marked ``server`` test by
test: those talk to the app in a process of its own; the queue check builds the app in-process."""

import json
import urllib.request

import pytest
from gradio_client import Client

from serve.app.analysis import MAX_CHARS
from tests.servers import Server


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    with Server("--model", str(tiny_model_dir), "--db", str(tmp / "db.sqlite3"), log=tmp / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


@pytest.mark.server
def test_api_lists_predict_and_explain_first_with_their_parameters_and_returns(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(api) == ["/predict", "/explain", "/health", "/next_item", "/annotate", "/learn", "/versions",
                         "/use_version"]
    method = api["/explain"]["parameters"][1]
    assert method["parameter_name"] == "method" and method["python_type"]["type"] == "Literal['running', 'occlusion', 'cd']"
    returns = api["/explain"]["returns"][0]["python_type"]["type"]
    for key in ("label", "positive", "negative", "attribution", "running_score", "encodings"):
        assert f"{key}:" in returns
    assert api["/predict"]["returns"][0]["python_type"]["type"] == "dict(label: str, positive: float, negative: float)"
    info = json.loads(urllib.request.urlopen(client.src.rstrip("/") + "/gradio_api/info", timeout=10).read())  # noqa: S310
    for name, endpoint in info["named_endpoints"].items():  # every parameter and return says what it means
        assert f"Client('{client.src.rstrip('/')}/')" in endpoint["description"], name  # the app's own address
        for value in endpoint["parameters"] + endpoint["returns"]:
            assert len(value["python_type"]["description"]) > 5, (name, value)
    order = info["named_endpoints"]["/next_item"]["parameters"][1]
    assert order["python_type"]["type"] == "Literal['uncertain', 'errors', 'file']"
    assert info["named_endpoints"]["/annotate"]["parameters"][1]["python_type"]["type"] == "Literal['pos', 'neg', 'skip']"


@pytest.mark.server
def test_health_answers_without_the_model(client):
    assert client.predict(api_name="/health") == "ok"


@pytest.mark.server
def test_predict(client):
    out = client.predict("The night was splendid", api_name="/predict")
    assert out["label"] == "positive" and out["positive"] > 0.8
    assert out["positive"] + out["negative"] == pytest.approx(1.0)


@pytest.mark.server
@pytest.mark.parametrize("method", ["running", "occlusion", "cd"])
def test_explain(client, method):
    out = client.predict("the plot was dreadful", method, api_name="/explain")
    assert out["label"] == "negative" and out["attribution"]["method"] == method
    words = [t["word"] for t in out["attribution"]["tokens"]]
    assert words == ["the", "plot", "was", "dreadful"]
    top = max(out["attribution"]["tokens"], key=lambda t: abs(t["score"]))
    assert top["word"] == "dreadful" and top["score"] < 0
    padded = out["encodings"]["padded"]  # the pads as their count, then a row per real position
    assert out["encodings"]["padding"] == 24 - 5 and len(padded) == 5 and padded[0]["position"] == 19
    assert [p["word"] for p in padded] == ["<start>", "the", "plot", "was", "dreadful"]
    assert [(p["word_number"], p["word"]) for p in out["running_score"]][-4:] == [
        (1, "the"), (2, "plot"), (3, "was"), (4, "dreadful")]


@pytest.mark.server
@pytest.mark.parametrize("text, message", [
    ("", "Type or paste a review first."),
    ("x" * (MAX_CHARS + 1), f"the limit is {MAX_CHARS:,}"),
])
def test_bad_input_gets_a_clear_message(client, text, message):
    with pytest.raises(Exception, match=message):
        client.predict(text, api_name="/predict")


@pytest.mark.server
def test_unknown_method_is_refused(client):
    with pytest.raises(Exception, match="Unknown explanation method"):
        client.predict("fine", "magic", api_name="/explain")


@pytest.mark.server
def test_annotation_api_round_trip(tiny_model_dir, tmp_path):
    src = tmp_path / "queue.txt"
    src.write_text("the plot was splendid\nthe music was dreadful\n")
    with Server("--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"), "--annotate", str(src)) as s:
        c = Client(s.url, verbose=False)
        with pytest.raises(Exception, match="annotator is required"):
            c.predict("", "file", api_name="/next_item")
        from sentilens.digest import file_sha256

        source = f"queue.txt@{file_sha256(src)[:8]}"
        item = c.predict("bot", "file", api_name="/next_item")
        assert item["item_id"] == f"{source}#1" and item["text"] == "the plot was splendid"
        with pytest.raises(Exception, match="is being labelled by 'bot' right now"):  # leased to bot
            c.predict(item["item_id"], "neg", "mallory", "", api_name="/annotate")
        assert c.predict(item["item_id"], "pos", "bot", "", api_name="/annotate") == 1
        with pytest.raises(Exception, match="label must be one of pos, neg, skip"):
            c.predict(item["item_id"], "maybe", "bot", "", api_name="/annotate")
        assert c.predict("bot", "file", api_name="/next_item")["item_id"] == f"{source}#2"


@pytest.mark.server
def test_explanations_of_huge_inputs_are_bounded(client):
    import json

    from serve.app.analysis import MAX_TOKENS

    fractions = "\u00bc" * MAX_CHARS  # NFKC: 1/4 -> "1", "4": two words per character
    squared = "\u3316" * MAX_CHARS  # NFKC: one squared unit -> a word of six letters, all of it one word
    for text in (fractions, squared):
        with pytest.raises(Exception, match=f"once normalised; the limit for an explanation is {MAX_TOKENS:,} words"):
            client.predict(text, "running", api_name="/explain")
        assert client.predict(text, api_name="/predict")["label"] in ("positive", "negative")
    words = " ".join(["dull"] * (MAX_TOKENS - 1))  # about the largest accepted review
    out = client.predict(words, "occlusion", api_name="/explain")
    assert len(json.dumps(out)) < 8 * 2**20


def test_explanations_have_their_own_small_queue(tiny_model_dir):
    from serve.app.blocks import build_app
    from serve.app.tab import EXPLAIN_QUEUE
    from serve.runtime import SentimentModel

    app = build_app(SentimentModel(tiny_model_dir))
    by_api = {fn.api_name: fn for fn in app.fns.values() if fn.api_name}
    assert by_api["explain"].concurrency_id == "explain" == EXPLAIN_QUEUE["concurrency_id"]
    assert by_api["explain"].concurrency_limit == 2
    assert by_api["predict"].concurrency_id != "explain"
