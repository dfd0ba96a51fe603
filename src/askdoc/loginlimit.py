"""Login limit: an ASGI middleware that slows password guessing at the chat's login.

Gradio's ``/login`` checks a password as fast as it is asked (50 guesses in 0.5 s).
Here each client address gets `FREE_TRIES` failed logins; after that, each further
attempt is answered 429 with ``Retry-After`` until a wait that doubles with every
failure (1 s, 2 s, 4 s, ... up to `MAX_WAIT`) has passed, without the password
being checked. A successful login clears the address's count.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from .bodylimit import send_text

#: Failed logins an address may make before it has to wait.
FREE_TRIES = 5
#: The first wait, in seconds, and the longest.
FIRST_WAIT = 1.0
MAX_WAIT = 300.0
#: Addresses remembered (the least recently failed are forgotten first).
MAX_CLIENTS = 10_000


class LoginLimit:
    """Per client address, back off after `FREE_TRIES` failed POSTs to ``/login``."""

    def __init__(self, app, clock=time.monotonic):
        self.app = app
        self.clock = clock
        # address -> (failed logins, when the next may be tried)
        self.failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        failed, until = self.failures.get(client, (0, 0.0))
        now = self.clock()
        if now < until:
            await _too_many(send, until - now)
            return
        status = 0

        async def watching_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching_send)
        if status == 200:
            self.failures.pop(client, None)
        elif status in (400, 401, 403):  # wrong credentials
            failed += 1
            wait = 0.0 if failed < FREE_TRIES else min(MAX_WAIT, FIRST_WAIT * 2 ** (failed - FREE_TRIES))
            self.failures[client] = (failed, self.clock() + wait)
            self.failures.move_to_end(client)
            while len(self.failures) > MAX_CLIENTS:
                self.failures.popitem(last=False)


async def _too_many(send, wait: float) -> None:
    seconds = max(1, round(wait + 0.5))
    text = f"too many failed logins from this address: try again in {seconds} s"
    await send_text(send, 429, text, retry_after=str(seconds).encode())
