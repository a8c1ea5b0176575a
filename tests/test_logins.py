"""Logins come from a file or the environment, never argv, and repeated failures are slowed down."""

import asyncio

import pytest

from sentilens.errors import DataError
from sentilens.settings import Settings
from serve.app.logins import FIRST_DELAY, FORGET_SECONDS, MAX_DELAY, Logins


def test_logins_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "logins"
    path.write_text("# team\nalice:s3cret:with:colons\n\n bob :pw\n")
    assert Logins.from_sources(auth_file=path).users == {"alice": "s3cret:with:colons", "bob": "pw"}
    assert Logins.from_sources(auth="carol:x,dave:y").users == {"carol": "x", "dave": "y"}
    assert Logins.from_sources() is None
    path.write_text("nobody\n")
    with pytest.raises(DataError, match=r"logins:1: not user:password"):
        Logins.from_sources(auth_file=path)
    with pytest.raises(DataError, match="cannot read the logins file"):
        Logins.from_sources(auth_file=tmp_path / "missing")


def test_the_command_line_takes_no_password():
    from serve.__main__ import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--auth", "alice:s3cret"])
    env = Settings.from_env({"SENTILENS_AUTH_FILE": "/etc/sentilens/logins", "GRADIO_SERVER_PORT": "8000"})
    args = parse_args([], env)
    assert args.auth_file == "/etc/sentilens/logins" and args.port == 8000 and args.host == "127.0.0.1"


def test_failed_logins_wait_longer_each_time_and_success_resets():
    logins = Logins({"alice": "s3cret"})
    assert logins.delay("alice") == 0
    waits = []
    for _ in range(6):
        assert not logins.verify("alice", "guess")
        waits.append(logins.delay("alice"))
    assert waits == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY, 8 * FIRST_DELAY, MAX_DELAY, MAX_DELAY]
    assert not logins.verify("mallory", "s3cret")  # unknown user: refused, and slowed down too
    assert logins.delay("mallory") == FIRST_DELAY
    assert logins.verify("alice", "s3cret") and logins.delay("alice") == 0
    logins.verify("alice", "guess")
    import time

    assert logins.delay("alice", now=time.monotonic() + FORGET_SECONDS + 1) == 0  # forgotten after a while


def test_the_gradio_check_waits_asynchronously():
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    logins = Logins({"alice": "s3cret"}, sleep=fake_sleep)
    assert asyncio.run(logins.check("alice", "nope")) is False
    assert asyncio.run(logins.check("alice", "s3cret")) is True
    assert slept == [FIRST_DELAY]


def test_the_app_takes_its_logins_from_the_environment(tiny_model_dir, tmp_path):
    from serve.__main__ import make_app

    env = Settings.from_env({"SENTILENS_AUTH": "alice:s3cret", "SENTILENS_DB": str(tmp_path / "db.sqlite3")})
    _, launch = make_app(str(tiny_model_dir), settings=env)
    check = launch["auth"]
    assert asyncio.run(check("alice", "s3cret")) is True
    _, launch = make_app(str(tiny_model_dir), settings=Settings(db=str(tmp_path / "db2.sqlite3")))
    assert launch["auth"] is None


def fake_time():
    """A clock that only the fake sleep moves, and a sleep that still lets other coroutines run."""
    clock, slept = [0.0], []

    async def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds
        await asyncio.sleep(0)

    return (lambda: clock[0]), sleep, clock, slept


def test_guesses_spread_over_many_names_are_held_to_the_global_budget():
    from serve.app.logins import FAILURES_PER_SECOND

    now, sleep, clock, _ = fake_time()
    logins = Logins({"alice": "s3cret"}, clock=now, sleep=sleep)

    async def burst():
        return await asyncio.gather(*(logins.check(f"user{i}", "guess") for i in range(200)))

    assert not any(asyncio.run(burst()))
    assert clock[0] >= 199 / FAILURES_PER_SECOND  # first failures for 200 names: no per-name delay, still paced


def test_a_login_name_is_compared_in_its_normal_form_and_spellings_share_one_line():
    """The logins file holds names in normal form: "Ana" or fullwidth "ＡＮＡ" log in as "ana", and a guesser
    cannot get a fresh line (and a fresh first delay) by changing the case."""
    now, sleep, clock, slept = fake_time()
    logins = Logins({"ana": "s3cret"}, clock=now, sleep=sleep)
    assert asyncio.run(logins.check("Ana", "s3cret")) and asyncio.run(logins.check("\uff21\uff2e\uff21", "s3cret"))

    async def guesses():
        return [await logins.check(name, "wrong") for name in ("ana", "ANA", "Ana", "aNa")]

    assert not any(asyncio.run(guesses()))
    assert slept[:3] == [FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY]  # one name's doubling, not four fresh starts
    assert not asyncio.run(logins.check("a" * 10_000, "s3cret"))  # refused at once, nothing folded
