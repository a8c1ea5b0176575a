"""Issue 33, "who may do what": one normal form for every person's name at every entry point (the store,
the app's handlers over HTTP, the logins file, --leads, the Team tab), leads that are named, and a voter
who never settles a dispute they voted in."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
import uuid

import gradio as gr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentilens.errors import DataError, InputError
from sentilens.names import MAX_NAME, name_key, person_name, shown_name
from serve.store.annotations import AnnotationStore, VoterCannotSettle

pytest_plugins = ["tests.pages"]  # the browser and axe fixtures, for the one browser test at the end

ITEMS = [("a", "the plot was splendid", 1, 0.9), ("b", "the music was dreadful", 0, 0.1),
         ("c", "a fine film", None, 0.5)]
ONE_ANA = ["ana", " Ana ", "ANA", "\uff41\uff4e\uff41", "\uff21na"]  # fullwidth letters: NFKC folds them
BAD = {  # payload -> what the one line says
    "ana\u200b": "U+200B",  # zero-width space
    "\u202eana": "U+202E",  # right-to-left override
    "\ufeffana": "U+FEFF",  # byte order mark
    "an\x00a": "U+0000",  # NUL
    "ana\u2066": "U+2066",  # an isolate
    "ana\u200e": "U+200E",  # a direction mark
    "\u3164": "U+3164",  # a blank letter
    "\ud800": "lone surrogates",
    "ana\udc80": "lone surrogates",
    "x" * (MAX_NAME + 1): f"keep it to {MAX_NAME} characters",
    "\uff41" * (MAX_NAME + 1): f"keep it to {MAX_NAME} characters",  # 65 after folding too
    "   ": "empty",
    "\u0301ana": "combining mark",
}


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text and "went wrong" not in text, text
    return text


@pytest.fixture
def store(tmp_path):
    s = AnnotationStore(tmp_path / "ann.sqlite3", overlap=2)
    s.add_items(ITEMS)
    return s


def count_decisions(store: AnnotationStore) -> int:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]


# ---- the rule ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ONE_ANA)
def test_every_spelling_of_one_name_has_one_normal_form(raw):
    assert person_name(raw) == "ana" == name_key(raw)
    assert person_name("  ana \t  maria ") == "ana maria" and person_name("Stra\u00dfe") == "strasse"


@pytest.mark.parametrize("raw, says", list(BAD.items()))
def test_invisible_direction_control_long_and_empty_names_are_refused_in_one_line(raw, says):
    with pytest.raises(InputError, match=re.escape(says)) as err:
        person_name(raw, "annotator name")
    assert "annotator name" in one_line(err.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_the_normal_form_is_stable_and_visible(raw):
    """Any text: refused in one line, or a name that is its own normal form and holds only visible characters."""
    try:
        name = person_name(raw)
    except InputError as err:
        one_line(err)
        return
    assert person_name(name) == name == name_key(name) == shown_name(name)
    assert 0 < len(name) <= MAX_NAME and name.isprintable() and name == name.strip()


def test_names_stored_before_the_rule_get_a_key_and_are_shown_visibly():
    assert name_key("ana\u200b") == name_key("\u202eAna") == "ana"
    assert shown_name("ana\u200b") == "ana<U+200B>" and shown_name("\u202eana") == "<U+202E>ana"


# ---- the store: every method that takes a name -------------------------------------------------------------
STORE_CALLS = {
    "next_item": lambda s, who: s.next_item(who, "file"),
    "release": lambda s, who: s.release(who),
    "undo": lambda s, who: s.undo(who),
    "progress": lambda s, who: s.progress(who),
    "recent": lambda s, who: s.recent(who),
    "decide": lambda s, who: s.decide("a", "pos", who, "sha"),
    "settle": lambda s, who: s.decide("a", "pos", who, "sha", adjudicated=True),
}


@pytest.mark.parametrize("call", list(STORE_CALLS))
@pytest.mark.parametrize("raw", list(BAD))
def test_every_store_method_refuses_a_bad_name_in_one_line_and_writes_nothing(store, call, raw):
    store.decide("a", "pos", "bo", "sha")
    before = count_decisions(store)
    with pytest.raises(InputError) as err:
        STORE_CALLS[call](store, raw)
    one_line(err.value)
    assert count_decisions(store) == before and store.votes() == {"a": {"bo": "pos"}}


def test_the_spellings_of_ana_are_one_annotator_on_an_overlap_2_review(store):
    """Before: "ana", "ana" + U+200B and U+202E + "ana" were three votes on one review of overlap 2. Now the
    invisible ones are refused, and every visible spelling of ana is her, once."""
    first = store.next_item("ana", "file")
    for raw in ONE_ANA:
        assert store.next_item(raw, "file") == first  # her lease, whichever way she writes her name
    for raw in ONE_ANA:
        store.decide(first.item_id, "pos", raw, "sha")  # a later label of hers replaces her earlier one
    for raw in BAD:
        with pytest.raises(InputError):
            store.decide(first.item_id, "neg", raw, "sha")
    assert store.votes() == {first.item_id: {"ana": "pos"}}
    assert store.next_item("\uff21NA", "file").item_id != first.item_id  # she has voted on it
    assert store.progress("ANA")["mine"]["labelled"] == 1 and [r[1] for r in store.recent(" ana")] == ["pos"]
    assert store.undo("\uff41na").item_id == first.item_id  # her latest label; her earlier ones stay history
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT DISTINCT annotator FROM decisions").fetchall() == [("ana",)]
    from serve.store.agreement import team_agreement

    store.decide("b", "pos", "Ana", "sha")
    store.decide("b", "neg", "bo", "sha")
    assert [p["annotator"] for p in team_agreement(store.votes())["annotators"]] == ["ana", "bo"]


def test_a_voter_never_settles_a_dispute_they_voted_in_and_a_named_lead_does(store):
    """Before: p1 voted, then settled p1 vs p2. The store refuses it, whichever way p1 is written, and a
    lead who settled a review does not vote on it afterwards."""
    store.decide("a", "pos", "p1", "sha")
    store.decide("a", "neg", "p2", "sha")
    for p1 in ("p1", "P1", " \uff50\uff11 "):
        with pytest.raises(VoterCannotSettle, match="You voted on this review: another lead settles it") as err:
            store.decide("a", "pos", p1, "sha", adjudicated=True)
        one_line(err.value)
    assert store.adjudications() == {} and [i.item_id for i, _ in store.disagreements()] == ["a"]
    store.undo("p2")  # an undone vote is no vote: p2 may settle b later, below
    store.decide("a", "neg", "p2", "sha")
    store.decide("a", "neg", "Lena", "sha", adjudicated=True)  # a lead who did not vote settles it
    assert store.adjudications() == {"a": ("neg", "lena")} and store.disagreements() == []
    with pytest.raises(VoterCannotSettle, match="You settled this review"):
        store.decide("a", "pos", "LENA", "sha")  # no second say as a voter
    assert store.votes()["a"] == {"p1": "pos", "p2": "neg"}


def test_old_databases_with_names_in_any_form_are_read_and_their_voters_still_cannot_settle(store):
    """Names written before the rule (an invisible character, capitals) are read, shown visibly, and still
    count as their person for the settling rule."""
    with sqlite3.connect(store.path) as db:
        for who, label in (("Ana\u200b", "pos"), ("\u202ebo", "neg")):
            db.execute("INSERT INTO decisions (item_id, text_hash, label, annotator, created_at, model_sha, "
                       "model_score) SELECT item_id, text_hash, ?, ?, 0, 'sha', model_score FROM items "
                       "WHERE item_id = 'b'", (label, who))
    assert store.votes() == {"b": {"Ana\u200b": "pos", "\u202ebo": "neg"}}
    assert [r["label"] for r in store.current_labels()] == ["disputed"]
    with pytest.raises(VoterCannotSettle):
        store.decide("b", "pos", "ana", "sha", adjudicated=True)
    with pytest.raises(VoterCannotSettle):
        store.decide("b", "pos", "BO", "sha", adjudicated=True)
    store.decide("b", "pos", "lena", "sha", adjudicated=True)
    assert store.adjudications() == {"b": ("pos", "lena")}


# ---- the logins file and --leads ----------------------------------------------------------------------------
def test_the_logins_file_names_leads_in_role_lines_and_refuses_names_not_in_normal_form(tmp_path):
    from serve.app.logins import Logins

    path = tmp_path / "logins"
    path.write_text("# team\nana:s3cret:lead\nbo:pw\nlena:x\nlead lena, bo\n", encoding="utf-8")
    logins = Logins.from_sources(auth_file=path)
    assert logins.users == {"ana": "s3cret:lead", "bo": "pw", "lena": "x"}  # a password may end in ':lead'
    assert logins.leads == {"lena", "bo"}
    env = Logins.from_sources(auth="ana:x,lena:y,lead lena")
    assert env.users == {"ana": "x", "lena": "y"} and env.leads == {"lena"}
    assert Logins.from_sources(auth="ana:x").leads == frozenset()
    cases = {"Ana:pw\n": r"logins:1: a login name is written in its normal form .*write 'ana'",
             "\uff41na:pw\n": "logins:1: .*write 'ana'",
             "ana:pw\nbo\u200b:pw\n": r"logins:2: The login name holds an invisible .*U\+200B",
             "\u202eana:pw\n": r"U\+202E", "\ufeffana:pw\n": r"U\+FEFF", "a\x00na:pw\n": r"U\+0000",
             ("x" * 65) + ":pw\n": "keep it to 64",
             "ana:pw\nlead bo\n": "logins:2: 'bo' is a lead but has no login",
             "ana:pw\nlead ana\u200b\n": r"logins:2: .*U\+200B",
             "ana:pw\nana:other\n": "logins:2: the login 'ana' is given twice",
             "ana:pw\nleader ana\n": "logins:2: not user:password"}
    for text, says in cases.items():
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with pytest.raises(DataError, match=says) as err:
            Logins.from_sources(auth_file=path)
        one_line(err.value)
    for item in ("ana\ud800:pw", "ana:pw,lead \ud800"):
        with pytest.raises(DataError, match="lone surrogates"):
            Logins.from_sources(auth=item)


def test_leads_are_named_logins_in_their_normal_form(tmp_path):
    from serve.__main__ import lead_logins
    from serve.app.logins import Logins

    logins = Logins.from_sources(auth="ana:x,lena:y,lead lena")
    assert lead_logins("ANA, \uff41na", logins) == {"ana", "lena"}  # --leads and the file's role line
    assert lead_logins("", logins) == {"lena"} and lead_logins("", None) == frozenset()
    with pytest.raises(InputError, match="'bo' has no login"):
        lead_logins("bo", logins)
    with pytest.raises(InputError, match="start the app with logins"):
        lead_logins("ana", None)
    for raw in BAD:
        if raw.strip():
            with pytest.raises(InputError, match="name in --leads") as err:
                lead_logins(f"lena,{raw}", logins)
            one_line(err.value)


@pytest.mark.parametrize("raw", ["ana\u200b", "\u202eana", "\ud800", "x" * 65, "bo"])
def test_sentilens_serve_refuses_a_bad_lead_in_one_line_and_exit_2(tmp_path, tiny_model_dir, capsys, monkeypatch,
                                                                   raw):
    from serve.__main__ import main

    monkeypatch.setenv("SENTILENS_AUTH", "ana:x")
    assert main(["--model", str(tiny_model_dir), "--db", str(tmp_path / "db.sqlite3"), "--leads", raw]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "--leads" in err


# ---- the app's handlers, in the app as built ----------------------------------------------------------------
def handlers(tiny_model_dir, tmp_path, auth: str | None, leads: str = ""):
    """The app as ``sentilens serve`` builds it, its store, and its registered handlers by name."""
    from sentilens.settings import Settings
    from serve.__main__ import make_app

    env = Settings(db=str(tmp_path / "db.sqlite3"), auth=auth)
    app, _ = make_app(str(tiny_model_dir), settings=env, overlap=2, leads=leads)
    fns = {f.name: f.fn for f in app.fns.values()}
    store = AnnotationStore(tmp_path / "db.sqlite3", overlap=2)
    store.add_items(ITEMS)
    return fns, store


def app_error(call) -> str:
    with pytest.raises(gr.Error) as err:
        call()
    return one_line(err.value.message if hasattr(err.value, "message") else err.value)


def test_with_logins_only_a_leads_login_settles_and_never_a_dispute_they_voted_in(tiny_model_dir, tmp_path):
    fns, store = handlers(tiny_model_dir, tmp_path, "p1:a,p2:b,lena:c,bo:d,lead lena,lead p1")
    settle = fns["settle_pos"]
    store.decide("a", "pos", "p1", "sha")
    store.decide("a", "neg", "p2", "sha")
    who = lambda user: gr.Request(username=user)  # noqa: E731 - Gradio's request for a logged-in user
    assert "Only a lead settles disputes; ask one of: lena, p1." in app_error(lambda: settle("a", "bo", who("p2")))
    assert "lena" in app_error(lambda: settle("a", "lena", who("bo")))  # a typed lead name counts for nothing
    assert "You voted on this review: another lead settles it." in app_error(lambda: settle("a", "", who("p1")))
    assert store.adjudications() == {}
    text, *_ = settle("a", "", who("lena"))
    assert "0 reviews to settle" in text and store.adjudications() == {"a": ("pos", "lena")}
    line, box = fns["who"](who("bo"))
    assert "Only a lead settles disputes: lena, p1." in line and box["visible"] is False
    assert "Settling as **lena**, a lead." in fns["who"](who("lena"))[0]


def test_with_logins_and_no_lead_named_nobody_settles(tiny_model_dir, tmp_path):
    fns, store = handlers(tiny_model_dir, tmp_path, "p1:a,p2:b")
    store.decide("a", "pos", "p1", "sha")
    store.decide("a", "neg", "p2", "sha")
    assert "No lead is named" in app_error(lambda: fns["settle_neg"]("a", "p1", gr.Request(username="p2")))
    assert store.adjudications() == {}


def test_without_logins_the_typed_lead_settles_in_normal_form_unless_they_voted(tiny_model_dir, tmp_path):
    fns, store = handlers(tiny_model_dir, tmp_path, None)
    settle = fns["settle_neg"]
    store.decide("a", "pos", "p1", "sha")
    store.decide("a", "neg", "p2", "sha")
    for raw in BAD:
        if raw.strip():
            assert "lead's name" in app_error(lambda raw=raw: settle("a", raw, gr.Request()))
    assert "You voted on this review" in app_error(lambda: settle("a", " P1", gr.Request()))
    settle("a", "\uff2cena", gr.Request())
    assert store.adjudications() == {"a": ("neg", "lena")}


@pytest.mark.parametrize("raw", list(BAD))
def test_annotate_handlers_refuse_a_bad_name_in_one_line(tiny_model_dir, tmp_path, raw):
    """Undo, Next and a label's button, as the page calls them: one line, never "Something went wrong"."""
    fns, store = handlers(tiny_model_dir, tmp_path, None)
    request = gr.Request()
    calls = [lambda: fns["undo"]("file", raw, request), lambda: fns["next"]("file", raw, "", [], request),
             lambda: fns["decide_pos"]("a", "", "", "file", raw, [], request)]
    if raw.strip():  # an empty name is the tab's own "type your name" line
        for call in calls:
            app_error(call)
    assert count_decisions(store) == 0


def test_annotate_handlers_count_every_spelling_of_ana_as_one(tiny_model_dir, tmp_path):
    fns, store = handlers(tiny_model_dir, tmp_path, None)
    request = gr.Request()
    for raw in ONE_ANA[:3]:
        item_id = fns["next"]("file", raw, "", [], request)[0]
        fns["decide_pos"](item_id, "", "", "file", raw, [], request)
    assert {who for votes in store.votes().values() for who in votes} == {"ana"}
    fns["undo"]("file", "\uff21NA", request)
    assert sum(len(v) for v in store.votes().values()) == 2


# ---- over HTTP: the public API and the page's own calls -----------------------------------------------------
@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    from tests.servers import Server

    tmp = tmp_path_factory.mktemp("roles")
    src = tmp / "queue.txt"
    src.write_text("the plot was splendid\nthe music was dreadful\na fine film\n")
    with Server("--model", str(tiny_model_dir), "--db", str(tmp / "db.sqlite3"), "--annotate", str(src),
                "--overlap", "2", log=tmp / "server.log") as s:
        s.log_path = tmp / "server.log"  # a bug's traceback would land here
        yield s


def call(url: str, api_name: str, data: list) -> tuple[bool, object]:
    """(success, output or error message) of one event, sent as the page sends it (queue/join, then the
    event stream). JSON escapes a lone surrogate, which gradio_client cannot send."""
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())  # noqa: S310 - loopback
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    session = uuid.uuid4().hex[:11]
    body = json.dumps({"data": data, "fn_index": fn, "session_hash": session}).encode()
    join = urllib.request.Request(url + "gradio_api/queue/join", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(join, timeout=60).read()  # noqa: S310
    events = f"{url}gradio_api/queue/data?session_hash={session}"
    with urllib.request.urlopen(events, timeout=60) as stream:  # noqa: S310 - loopback
        for line in stream:
            if line.startswith(b"data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    return bool(msg.get("success")), out.get("error") or out.get("data")
    raise AssertionError("the event stream ended without a result")


@pytest.mark.server
@pytest.mark.parametrize("raw", [r for r in BAD if r.strip()])
def test_next_item_and_undo_over_http_refuse_a_bad_name_in_one_line(server, raw):
    for api_name, data in (("next_item", [raw, "file"]), ("undo", ["file", raw]), ("next", ["file", raw, "", []])):
        ok, message = call(server.url, api_name, data)
        assert not ok and isinstance(message, str), (api_name, message)
        assert "\n" not in message and "went wrong" not in message and "Error" not in message, (api_name, message)
    server.log.flush()
    assert "Traceback" not in server.log_path.read_text(errors="replace")


@pytest.mark.server
def test_the_api_counts_every_spelling_of_ana_as_one_annotator(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    first = client.predict("ana", "file", api_name="/next_item")
    for raw in ONE_ANA:
        assert client.predict(raw, "file", api_name="/next_item")["item_id"] == first["item_id"]
    client.predict(first["item_id"], "pos", "\uff21NA", "", api_name="/annotate")
    assert client.predict(" Ana", "file", api_name="/next_item")["item_id"] != first["item_id"]
    with pytest.raises(Exception, match=r"U\+200B") as err:
        client.predict(first["item_id"], "neg", "ana\u200b", "", api_name="/annotate")
    one_line(err.value)


# ---- in the browser -----------------------------------------------------------------------------------------
@pytest.mark.browser
def test_in_the_browser_a_voter_cannot_settle_a_lead_can_and_the_headings_go_down_one_level(browser, tmp_path, axe):
    """p1 and p2 disagree (through the API); typed as the lead, "P1" gets one line and settles nothing,
    "Lena" settles it as "lena"; axe finds no heading-order problem on Team (h1, then h2s)."""
    from gradio_client import Client
    from selenium.webdriver.common.by import By

    from tests.pages import REVIEWS, annotating, click, find, open_tab, queue_csv, settled, text_of, wait

    src, db = tmp_path / "team.csv", tmp_path / "db.sqlite3"
    queue_csv(src, REVIEWS[:2], "r")
    with annotating(browser, src, db, "--overlap", "2", log=tmp_path / "server.log") as server:
        client = Client(server.url, verbose=False)
        for who, label in (("p1", "pos"), ("p2", "neg")):
            item = client.predict(who, "file", api_name="/next_item")
            client.predict(item["item_id"], label, who, "", api_name="/annotate")
        disputed = item["item_id"]
        open_tab(browser, "Team")
        wait(browser, lambda d: "1 review to settle" in text_of(d, "#team-summary"))
        found = axe(browser, "team")
        assert not [v for v in found if v["id"] == "heading-order"], found
        levels = [h.tag_name for h in browser.find_elements(By.CSS_SELECTOR, "h1, h2, h3, h4") if h.is_displayed()]
        assert levels[0] == "h1" and all(int(b[1]) <= int(a[1]) + 1 for a, b in zip(levels, levels[1:])), levels
        click(browser, "#team-disputes input")
        wait(browser, lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
                                      if "#" + disputed.split("#")[1] in o.text), None)).click()
        wait(browser, lambda d: "p1: positive" in text_of(d, "#team-votes"))
        wait(browser, settled)
        box = find(browser, "#team-lead input, #team-lead textarea")
        box.send_keys("P1")
        click(browser, "#team-pos")
        toast = wait(browser, lambda d: next((t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast-body")
                                              if "voted" in t.text), None))
        assert "You voted on this review: another lead settles it." in toast and "went wrong" not in toast
        assert AnnotationStore(db, overlap=2).adjudications() == {}
        box.clear()
        box.send_keys("Lena")
        click(browser, "#team-pos")
        wait(browser, lambda d: "0 reviews to settle" in text_of(d, "#team-summary"))
    assert AnnotationStore(db, overlap=2).adjudications() == {disputed: ("pos", "lena")}
