"""Logins for the app: who may use it, read from a file or the environment, never the command line.

Passwords on a command line are visible to every user of the machine (``ps``), so the app takes
them from ``SENTILENS_AUTH`` (``user:password[,user:password...]``) or a file of ``user:password``
lines (``--auth-file`` / ``SENTILENS_AUTH_FILE``; ``#`` starts a comment). The file's format::

    # one login a line: name:password (the password may hold colons)
    ana:correct horse battery
    bo:s3cret:with:colons
    # a role line (no colon): these logins are leads (names separated by commas)
    lead ana

A lead settles disputes in the Team tab and chooses the version served (with ``--leads`` naming more).
``SENTILENS_AUTH`` takes the same items separated by commas (``ana:pw,bo:pw2,lead ana``). A role has a
line of its own because a password may hold colons: ``ana:pw:lead`` is the password ``pw:lead``, as
it always was. A login name must be in its normal form (``sentilens.names.person_name``: lower case,
NFKC, single spaces, visible characters only), so that the name a person logs in with is the name
their labels are counted under; a name that is not, a role naming no login, or a login given twice is
refused with its line. Passwords are compared
in constant time, and repeated failures for a user name are slowed down: after the first failure
each answer waits twice as long as the one before (0.5 s, 1 s, 2 s ... at most ``MAX_DELAY``),
until a success or ``FORGET_SECONDS`` without failures. Attempts for one user name are answered
one at a time (a line per name), so a burst of concurrent guesses cannot share one delay; and
failures across all names together are held to ``FAILURES_PER_SECOND`` (a client trying many names
gains nothing either). The waits are asynchronous, so other people's requests are not held up.

The lines are short: a line that queued every attempt locked the owner out (400 guesses at once, from
clients long gone, still stood before the owner's right password 51 minutes later). A name's line
holds at most ``MAX_WAITING_PER_NAME`` attempts, ``MAX_WAITING_PER_CLIENT`` of them from one address
(``LoginAddress`` tells the check where a login comes from), and all names together
``MAX_WAITING``; an attempt beyond is refused at once, its password never checked, so it tells a
guesser nothing and costs the server nothing. Guessing one name stays as slow as the line (one answer
per delay); the owner, from another address than a guesser's, gets a place in line behind at most
``MAX_WAITING_PER_CLIENT`` of the guesser's attempts, and a right password goes through there.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from sentilens.errors import DataError, InputError
from sentilens.names import MAX_NAME, name_key, person_name
from serve.app.queue_limits import peer_address

__all__ = ["FAILURES_PER_SECOND", "FIRST_DELAY", "FORGET_SECONDS", "LOGIN_ADDRESS", "LoginAddress", "Logins",
           "MAX_DELAY", "MAX_TRACKED", "MAX_WAITING", "MAX_WAITING_PER_CLIENT", "MAX_WAITING_PER_NAME",
           "ROLES", "parse_logins", "parse_pairs"]

FIRST_DELAY = 0.5
MAX_DELAY = 8.0
FORGET_SECONDS = 15 * 60
MAX_TRACKED = 10_000  # user names whose failures are remembered; the stalest are forgotten first
FAILURES_PER_SECOND = 5.0  # wrong passwords answered per second, all user names together
MAX_WAITING_PER_NAME = 8  # attempts in one name's line ...
MAX_WAITING_PER_CLIENT = 2  # ... of them from one address
MAX_WAITING = 1_000  # attempts in every line together
LOGIN_ADDRESS: ContextVar[str] = ContextVar("login_address", default="")  # set by ``LoginAddress``
ROLES = ("lead",)  # what a role line may name


class LoginAddress:
    """ASGI middleware: the address a login comes from (``peer_address``), for ``Logins.check``, which
    Gradio calls with the name and password only."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/login"):
            headers = dict(scope.get("headers") or [])
            host = scope["client"][0] if scope.get("client") else ""
            LOGIN_ADDRESS.set(peer_address(host, headers.get(b"x-forwarded-for", b"").decode("latin-1")))
        await self.app(scope, receive, send)


@dataclass
class _Line:
    """The attempts for one user name: answered one at a time, and how many wait, by address."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0
    by_address: Counter = field(default_factory=Counter)


def _login_name(raw: str, at: str) -> str:
    """``raw`` when it is a name in normal form; else DataError naming the line, and the form to write."""
    try:
        name = person_name(raw.strip(), "login name")
    except InputError as err:
        raise DataError(f"{at}: {err}") from None
    if name != raw.strip():
        raise DataError(f"{at}: a login name is written in its normal form (lower case, single spaces): "
                        f"write {name!r}")
    return name


def parse_logins(lines: list[str], where: str) -> tuple[dict[str, str], frozenset[str]]:
    """(name -> password, the leads) from ``name:password`` lines and ``lead NAME[, NAME...]`` role lines;
    ``where`` + the line number names a bad line in the one-line ``DataError``."""
    users: dict[str, str] = {}
    roles: list[tuple[str, str]] = []  # (lead name, where its line is)
    for n, raw in enumerate(lines, start=1):
        item, at = raw.strip(), f"{where}{n}"
        if not item or item.startswith("#"):
            continue
        user, sep, password = item.partition(":")
        if not sep:
            role, _, names = item.partition(" ")
            if role not in ROLES or not names.strip():
                raise DataError(f"{at}: not user:password (nor a role line such as 'lead ana')")
            roles += [(_login_name(name, at), at) for name in names.split(",")]
            continue
        if not user.strip() or not password:
            raise DataError(f"{at}: not user:password")
        name = _login_name(user, at)
        if name in users:
            raise DataError(f"{at}: the login {name!r} is given twice")
        users[name] = password
    for name, at in roles:
        if name not in users:
            raise DataError(f"{at}: {name!r} is a lead but has no login (a name:password line)")
    return users, frozenset(name for name, _ in roles)


def parse_pairs(lines: list[str], where: str) -> dict[str, str]:
    """name -> password (``parse_logins`` without the roles)."""
    return parse_logins(lines, where)[0]


class Logins:
    leads: frozenset[str] = frozenset()  # the logins a role line made leads (``from_sources``)

    def __init__(self, users: dict[str, str], clock=time.monotonic, sleep=asyncio.sleep):
        self.users, self.clock, self.sleep = users, clock, sleep
        self.failures: dict[str, tuple[int, float]] = {}  # user name -> (count, time of the last)
        self.lines: dict[str, _Line] = {}  # user name -> its attempts in line (a name with none has no line)
        self.waiting = 0  # attempts in every line
        self.next_failure_at = 0.0  # the global budget: when the next wrong password may be answered

    @classmethod
    def from_sources(cls, auth_file: str | Path | None = None, auth: str | None = None) -> Logins | None:
        """From the file when given, else from the ``SENTILENS_AUTH`` value; None when neither is set."""
        if auth_file:
            path = Path(auth_file)
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as err:
                raise DataError(f"{path}: cannot read the logins file ({err})") from None
            users, leads = parse_logins(lines, f"{path}:")
            if not users:
                raise DataError(f"{path}: no user:password line")
        elif auth:
            users, leads = parse_logins(auth.split(","), "SENTILENS_AUTH item ")
        else:
            return None
        logins = cls(users)
        logins.leads = leads
        return logins

    def delay(self, user: str, now: float | None = None) -> float:
        """Seconds the next answer for ``user`` waits: 0 until a failure, then doubling."""
        count, last = self.failures.get(user, (0, 0.0))
        now = self.clock() if now is None else now
        if count == 0 or now - last > FORGET_SECONDS:
            return 0.0
        return min(MAX_DELAY, FIRST_DELAY * 2 ** (count - 1))

    def verify(self, user: str, password: str) -> bool:
        """Constant-time check; records the outcome for ``delay``."""
        want = self.users.get(user, "")
        ok = hmac.compare_digest(password.encode("utf-8", "surrogatepass"), want.encode("utf-8", "surrogatepass"))
        ok = ok and user in self.users
        if ok:
            self.failures.pop(user, None)
        else:
            count, last = self.failures.get(user, (0, 0.0))
            if self.clock() - last > FORGET_SECONDS:
                count = 0
            self.failures[user] = (count + 1, self.clock())
            if len(self.failures) > MAX_TRACKED:
                stalest = sorted(self.failures, key=lambda u: self.failures[u][1])[: MAX_TRACKED // 2]
                for name in stalest:
                    del self.failures[name]
        return ok

    async def check(self, user: str, password: str) -> bool:
        """Gradio's ``auth`` callable: one attempt per user name at a time, each after its wait; an attempt
        beyond the lines' room is refused at once without checking its password. The name is compared in
        its normal form (``sentilens.names``), as the logins file holds it: "Ana" logs in as "ana", and
        spellings of one name share one line (they cannot multiply a guesser's pace)."""
        if not isinstance(user, str) or len(user) > 4 * MAX_NAME or not isinstance(password, str):
            return False
        user = name_key(user)
        address = LOGIN_ADDRESS.get()
        line = self.lines.get(user) or _Line()
        if (self.waiting >= MAX_WAITING or line.waiting >= MAX_WAITING_PER_NAME
                or line.by_address[address] >= MAX_WAITING_PER_CLIENT):
            return False
        self.lines[user] = line
        self.waiting, line.waiting = self.waiting + 1, line.waiting + 1
        line.by_address[address] += 1
        try:
            async with line.lock:
                wait = self.delay(user)
                if wait:
                    await self.sleep(wait)
                ok = self.verify(user, password)
                if not ok:  # the global budget of failures: a wrong answer waits for its turn
                    now = self.clock()
                    turn = max(now, self.next_failure_at)
                    self.next_failure_at = turn + 1.0 / FAILURES_PER_SECOND
                    if turn > now:
                        await self.sleep(turn - now)
                return ok
        finally:
            self.waiting, line.waiting = self.waiting - 1, line.waiting - 1
            line.by_address[address] -= 1
            if not line.by_address[address]:
                del line.by_address[address]
            if not line.waiting and self.lines.get(user) is line:
                del self.lines[user]  # a name with no attempt waiting keeps nothing here
