"""Logins for the app: who may use it, read from a file or the environment, never the command line.

Passwords on a command line are visible to every user of the machine (``ps``), so the app takes
them from ``SENTILENS_AUTH`` (``user:password[,user:password...]``) or a file of ``user:password``
lines (``--auth-file`` / ``SENTILENS_AUTH_FILE``; ``#`` starts a comment). Passwords are compared
in constant time, and repeated failures for a user name are slowed down: after the first failure
each answer waits twice as long as the one before (0.5 s, 1 s, 2 s ... at most ``MAX_DELAY``),
until a success or ``FORGET_SECONDS`` without failures. Attempts for one user name are answered
one at a time (a lock per name), so a burst of concurrent guesses waits in line instead of
sharing one delay; and failures across all names together are held to ``FAILURES_PER_SECOND``
(a client trying many names gains nothing either). The waits are asynchronous, so other
people's requests are not held up.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from pathlib import Path

from sentilens.errors import DataError

__all__ = ["FAILURES_PER_SECOND", "FIRST_DELAY", "FORGET_SECONDS", "Logins", "MAX_DELAY", "MAX_TRACKED", "parse_pairs"]

FIRST_DELAY = 0.5
MAX_DELAY = 8.0
FORGET_SECONDS = 15 * 60
MAX_TRACKED = 10_000  # user names whose failures are remembered; the stalest are forgotten first
FAILURES_PER_SECOND = 5.0  # wrong passwords answered per second, all user names together


def parse_pairs(lines: list[str], where: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for n, raw in enumerate(lines, start=1):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise DataError(f"{where}{n}: not user:password")
        users[user.strip()] = password
    return users


class Logins:
    def __init__(self, users: dict[str, str], clock=time.monotonic, sleep=asyncio.sleep):
        self.users, self.clock, self.sleep = users, clock, sleep
        self.failures: dict[str, tuple[int, float]] = {}  # user name -> (count, time of the last)
        self.locks: dict[str, asyncio.Lock] = {}  # user name -> one attempt at a time
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
            users = parse_pairs(lines, f"{path}:")
            if not users:
                raise DataError(f"{path}: no user:password line")
            return cls(users)
        if auth:
            return cls(parse_pairs(auth.split(","), "SENTILENS_AUTH item "))
        return None

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
        """Gradio's ``auth`` callable: one attempt per user name at a time, each after its wait."""
        if len(self.locks) > MAX_TRACKED:
            for name in [n for n, lock in self.locks.items() if not lock.locked()]:
                del self.locks[name]
        lock = self.locks.setdefault(user, asyncio.Lock())
        async with lock:
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
