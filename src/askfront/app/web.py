"""Safe web defaults in front of the Gradio app (an ASGI middleware, no Gradio needed to test it).

- Host check: a request whose ``Host`` is not a name of this server is refused (421). A web page that
  rebinds its own domain name to 127.0.0.1 (DNS rebinding) would otherwise read the reports through the
  user's browser, since its requests carry ``Host: attacker.example``.
- Login throttle: after ``FREE_FAILURES`` wrong passwords from one address, each further attempt must
  wait twice as long as the one before (1 s, 2 s, 4 s … up to ``MAX_WAIT_S``); a right one resets it.
  The address is the socket peer's (X-Forwarded-For counts only from ``trusted_proxies``), and an
  attempt counts as failed from its start, so parallel attempts cannot all pass the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
FREE_FAILURES = 5  # wrong passwords allowed before waits start (typos happen)
MAX_WAIT_S = 300.0  # the longest wait between attempts once throttled
# Request bodies received at once; more are refused (503). Uploads are a person's files: a newsroom
# uploads a handful at a time; hundreds at once is a flood.
MAX_BODIES = 64
_ANY = ("0.0.0.0", "::", "")


def allowed_hosts(listen: str, extra: Iterable[str] = ()) -> set[str]:
    """Host names this server answers to: loopback names, the listening address, ``extra`` (e.g. a LAN
    name or a reverse proxy's), and, when listening on every address, this machine's name and addresses."""
    names = {*LOOPBACK_NAMES, *(h.strip().lower() for h in extra if h.strip())}
    if listen not in _ANY:
        names.add(listen.lower().strip("[]"))
    else:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        with contextlib.suppress(OSError):
            names |= {info[4][0] for info in socket.getaddrinfo(hostname, None)}
    return names


def host_of(header: str) -> str:
    """The name in a Host header, without the port: 'Example.org:7860' -> 'example.org', '[::1]:80' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LoginThrottle:
    """Failed logins per client address; how long the next attempt must wait."""

    def __init__(self, free: int = FREE_FAILURES, max_wait: float = MAX_WAIT_S, clock=time.monotonic) -> None:
        self.free, self.max_wait, self.clock = free, max_wait, clock
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (failures, time of the last)
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until ``address`` may try again (0 when it may now)."""
        with self._lock:
            return self._wait(address)

    def _wait(self, address: str) -> float:
        """``wait`` with the lock held."""
        count, last = self._failures.get(address, (0, 0.0))
        if count < self.free:
            return 0.0
        delay = min(self.max_wait, 2.0 ** (count - self.free))
        return max(0.0, last + delay - self.clock())

    def begin(self, address: str) -> float:
        """Start an attempt: 0 when ``address`` may try now (and the attempt is counted as a failure until
        ``record(ok=True)`` says otherwise, so parallel attempts cannot all pass before one fails), else
        the seconds to wait."""
        with self._lock:
            wait = self._wait(address)
            if wait > 0:
                return wait
            count, _ = self._failures.get(address, (0, 0.0))
            self._failures[address] = (count + 1, self.clock())
            return 0.0

    def settle(self, address: str, ok: bool) -> None:
        """End an attempt started with ``begin``: a right password clears the address's failures."""
        if ok:
            with self._lock:
                self._failures.pop(address, None)

    def record(self, address: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(address, None)
            else:
                count, _ = self._failures.get(address, (0, 0.0))
                self._failures[address] = (count + 1, self.clock())


class BodyTimeout(Exception):
    """A request body stalled for longer than the guard's ``body_timeout_s``."""


class WebGuard:
    """ASGI middleware: refuse foreign Host headers; throttle POST /login; drop request bodies that stall
    (408) and refuse bodies beyond ``MAX_BODIES`` at once (503), so stalled uploads cannot take every
    file descriptor."""

    def __init__(
        self, app: ASGIApp, hosts: set[str], throttle: LoginThrottle | None = None, body_timeout_s: float = 20.0
    ) -> None:
        self.app, self.hosts = app, hosts
        self.throttle = throttle or LoginThrottle()
        self.body_timeout_s = body_timeout_s
        self.bodies = 0  # requests whose body is being received now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_of(headers.get("host", ""))
        if host not in self.hosts:
            message = (
                f"askfront: error: refused a request for host {host or '(none)'!r}: this server answers to "
                f"{', '.join(sorted(self.hosts))} (add a name with ASKFRONT_ALLOWED_HOSTS)"
            )
            await _refuse(scope, send, 421, message)
            return
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == "/login":
            await self._login(scope, receive, send)
            return
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH"):
            await self._with_body(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request with a body on, each part of the body awaited at most ``body_timeout_s``."""
        if self.bodies >= MAX_BODIES:
            await _refuse(scope, send, 503, "askfront: error: too many uploads at once; try again in a moment")
            return
        started: list[bool] = []

        async def timed() -> dict[str, Any]:
            try:
                return await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise BodyTimeout from None

        async def noting(event: dict[str, Any]) -> None:
            started.append(True)
            await send(event)

        self.bodies += 1
        try:
            await self.app(scope, timed, noting)
        except BodyTimeout:
            if not started:  # the connection is closed after this answer: its descriptor is freed
                await _refuse(scope, send, 408, f"askfront: error: the upload stalled for {self.body_timeout_s:g} s")
        finally:
            self.bodies -= 1

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The socket peer: uvicorn rewrites "client" from X-Forwarded-For only for the trusted proxies
        # that serve() names (ASKFRONT_TRUSTED_PROXIES; none by default), so a header cannot pick the key.
        address = (scope.get("client") or ("?", 0))[0]
        wait = self.throttle.begin(address)
        if wait > 0:
            message = f"askfront: error: too many wrong passwords; try again in {wait:.0f} s"
            await _refuse(scope, send, 429, message, {"retry-after": str(max(1, round(wait)))})
            return
        status: list[int] = []

        async def watch(event: dict[str, Any]) -> None:
            if event["type"] == "http.response.start":
                status.append(event["status"])
            await send(event)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.throttle.settle(address, ok=bool(status) and status[0] < 400)


async def _refuse(scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = (message + "\n").encode("utf-8")
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
