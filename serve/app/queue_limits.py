"""What the app's queue may hold for its clients, and for how long.

Gradio keeps every result in its session's message queue until a client reads it, and keeps the
queue of a session that never reads for good: 300 ``/explain`` calls of 20,000 words whose results
nobody read held 6 GB, and still did three minutes later. Gradio 6 offers a global ``max_size`` and
per-event concurrency limits, but no expiry and no per-client bound, so this module adds them:

- **Events waiting**: at most ``MAX_QUEUED`` in all (Gradio's ``max_size``) and
  ``MAX_QUEUED_PER_CLIENT`` from one client (its login, else its address); the next one is refused at
  once with 503 instead of being queued.
- **Results waiting to be read**: a result nobody reads within ``RESULT_TTL`` seconds is discarded;
  and when the unread results pass ``MAX_UNREAD`` or an estimated ``MAX_UNREAD_BYTES``, the oldest go
  first. A client that is connected reads its result within milliseconds, so a result younger than
  ``GRACE`` seconds is never discarded for room. A client that comes back for a discarded result is
  told its session is gone.
- **Request bodies**: at most ``MAX_BODY_BYTES`` (two reviews of 100,000 characters fit with room to
  spare), refused with 413 before the body is read when it says its length, or as it streams in;
  uploads keep their own limit (``serve.app.uploads``).
- **No route around the queue**: Gradio opens REST routes that skip the queue (and every bound above)
  when the app is not on a Space; they are closed, so every call waits in the bounded queue.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import gradio as gr
from gradio.queueing import Queue
from gradio.server_messages import ProcessCompletedMessage, ProcessGeneratingMessage

__all__ = ["GRACE", "MAX_BODY_BYTES", "MAX_QUEUED", "MAX_QUEUED_PER_CLIENT", "MAX_UNREAD", "MAX_UNREAD_BYTES",
           "RESULT_TTL", "SWEEP_SECONDS", "BodyLimit", "BoundedQueue", "bound_queue", "client_of", "estimated_bytes",
           "peer_address"]

MAX_QUEUED = 64  # events waiting for a worker, all clients together
MAX_QUEUED_PER_CLIENT = 32  # ... from one client (bench/load.py's 32 clients on one address still fit)
RESULT_TTL = 60.0  # seconds a result waits for its client
MAX_UNREAD = 64  # results waiting for their clients, all together ...
MAX_UNREAD_BYTES = 64 * 2**20  # ... and their estimated size
GRACE = 2.0  # a result this young is never discarded for room: its client may be reading it now
SWEEP_SECONDS = 1.0
MAX_BODY_BYTES = 2 * 2**20

log = logging.getLogger("sentilens")


def peer_address(host: str, forwarded: str = "") -> str:
    """Where a request comes from: its peer's address; behind a proxy on loopback or a private network
    (a Space), the address the proxy appended last to ``X-Forwarded-For`` (a client can prepend addresses,
    not change the proxy's own)."""
    if forwarded:
        try:
            private = ipaddress.ip_address(host).is_private
        except ValueError:
            private = False
        if private:
            return forwarded.split(",")[-1].strip() or host
    return host


def client_of(request, username: str | None) -> str:
    """Who a queued event comes from, for the per-client bound: the login when there is one, else the
    ``peer_address``."""
    if username:
        return f"user:{username}"
    if request is None:
        return "address:"
    host = request.client.host if request.client else ""
    return f"address:{peer_address(host, request.headers.get('x-forwarded-for', ''))}"


def estimated_bytes(value: object, most_items: int = 50_000) -> int:
    """What a result holds in memory, roughly (CPython's sizes: a string's header and characters, a list's
    slots, a dict's table), visiting at most ``most_items`` items (past them each item left counts as
    1 KB, erring large)."""
    total, stack, items = 0, [value], 0
    while stack:
        item = stack.pop()
        items += 1
        if items > most_items:
            return total + 1024 * (len(stack) + 1)
        if isinstance(item, str):
            total += 50 + len(item) * (1 if item.isascii() else 4)
        elif isinstance(item, dict):
            total += 64 + 100 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 56 + 8 * len(item)
            stack.extend(item)
        else:
            total += 32
    return total


@dataclass
class _Unread:
    """A result sent to its session's queue, not yet seen read."""

    sent: float
    session: str
    event_id: str
    message: object
    size: int | None = None  # estimated once it has waited ``GRACE``


class BoundedQueue(Queue):
    """Gradio's queue with the bounds of this module (installed by ``bound_queue``)."""

    unread: list[_Unread]
    sweeper: asyncio.Task | None

    async def push(self, body, request, username):
        """Refuse a client's event at once when it already has ``MAX_QUEUED_PER_CLIENT`` waiting."""
        client = client_of(request, username)
        waiting = sum(client_of(e.request, e.username) == client
                      for q in self.event_queue_per_concurrency_id.values() for e in q.queue)
        if waiting >= MAX_QUEUED_PER_CLIENT:
            return False, (f"Too many requests of yours are waiting ({waiting}); wait for their results, then "
                           "try again."), "queue_full"
        return await super().push(body, request, username)

    def send_message(self, event, event_message) -> None:
        super().send_message(event, event_message)
        if event.alive and isinstance(event_message, (ProcessCompletedMessage, ProcessGeneratingMessage)):
            self.unread.append(_Unread(time.monotonic(), event.session_hash, event._id, event_message))

    def sweep(self, now: float) -> int:
        """Forget the results that were read; discard those unread past ``RESULT_TTL`` and, oldest first,
        those past the room (never one younger than ``GRACE``). Returns how many were discarded."""
        waiting = []
        for u in self.unread:
            messages = self.pending_messages_per_session.get(u.session)
            if messages is not None and any(m is u.message for m in messages._queue):  # noqa: SLF001
                waiting.append(u)
        count, size, discard = len(waiting), 0, []
        for u in waiting:
            if now - u.sent >= GRACE and u.size is None:
                u.size = estimated_bytes(u.message.output)
            size += u.size or 0
        for u in waiting:  # oldest first
            if now - u.sent > RESULT_TTL or (now - u.sent >= GRACE and (count > MAX_UNREAD or size > MAX_UNREAD_BYTES)):
                discard.append(u)
                count, size = count - 1, size - (u.size or 0)
        for u in discard:
            self._discard(u)
        gone = {id(u) for u in discard}
        self.unread = [u for u in waiting if id(u) not in gone]
        return len(discard)

    def _discard(self, u: _Unread) -> None:
        """Every message of the event leaves its session's queue; a session left with nothing goes too."""
        messages = self.pending_messages_per_session.get(u.session)
        if messages is not None:
            kept = [m for m in messages._queue if getattr(m, "event_id", None) != u.event_id]  # noqa: SLF001
            messages._queue.clear()  # noqa: SLF001
            messages._queue.extend(kept)  # noqa: SLF001
        pending = self.pending_event_ids_session.get(u.session)
        if pending is not None:
            pending.discard(u.event_id)
            if not pending:
                del self.pending_event_ids_session[u.session]
        if messages is not None and messages.empty() and u.session not in self.pending_event_ids_session:
            del self.pending_messages_per_session[u.session]

    async def start_sweeping(self) -> None:
        """Gradio's start-up hook: sweep every ``SWEEP_SECONDS`` for as long as the app runs."""
        async def forever() -> None:
            while True:
                await asyncio.sleep(SWEEP_SECONDS)
                try:
                    if n := self.sweep(time.monotonic()):
                        log.info("discarded %d result(s) their clients did not read", n)
                except Exception:  # noqa: BLE001 - the sweeper must outlive a surprise; the log keeps it
                    log.exception("sweeping unread results failed")

        if self.sweeper is None or self.sweeper.done():
            self.sweeper = asyncio.get_running_loop().create_task(forever())


def bound_queue(app: gr.Blocks, concurrency: int) -> gr.Blocks:
    """``app.queue()`` with ``concurrency`` workers for the default events and this module's bounds."""
    app.queue(default_concurrency_limit=concurrency, max_size=MAX_QUEUED, api_open=False)
    queue = app._queue  # noqa: SLF001 - the queue Gradio just made, given the bounds Gradio lacks
    queue.__class__ = BoundedQueue
    queue.unread, queue.sweeper = [], None
    app.extra_startup_events.append(queue.start_sweeping)
    return app


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 (uploads, under ``exempt``, have their
    own limit). A body that does not state its length is read up to the limit before the app sees it."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int = MAX_BODY_BYTES,
                 exempt: tuple[str, ...] = ("/upload",)):
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/").endswith(self.exempt):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            return await self.app(scope, receive, send)
        body, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)
            body.append(message.get("body", b""))
            more = message.get("more_body", False)
            if sum(map(len, body)) > self.max_bytes:
                return await self._refuse(send)
        return await self.app(scope, _replay([{"type": "http.request", "body": b"".join(body), "more_body": False}],
                                             receive), send)

    async def _refuse(self, send) -> None:
        text = f"The request is over {self.max_bytes // 2**20} MB.".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})


def _replay(messages: list[dict], then=None):
    """A ``receive`` that gives ``messages`` first, then (when given) the real one."""
    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
