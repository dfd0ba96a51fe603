"""Body limit: an ASGI middleware that refuses request bodies over a size.

Gradio reads a whole request body into memory before any handler sees it, so
without a cap one 300 MB POST to ``/gradio_api/call/answer`` grows the server
by that much for good. A declared ``Content-Length`` over the cap is answered
413 before a byte of the body is read; a body without one (chunked) is counted
as it streams and cut off once it passes the cap.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

#: Room above the upload limit for multipart boundaries, headers and form fields.
MARGIN_BYTES = 1_000_000


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the cap. An HTTPException,
    so that FastAPI passes it on (it turns other errors while reading a body into 400)."""

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body over {limit:,} bytes")


class BodyLimit:
    """Refuse HTTP request bodies over ``limit`` bytes with 413 Content Too Large."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        received, started = 0, False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        await send_text(send, 413, f"request body too large: the limit is {self.limit:,} bytes", connection=b"close")


async def send_text(send, status: int, text: str, **headers: bytes) -> None:
    """Answer an ASGI request with ``status`` and one line of plain text (and ``headers``)."""
    body = f"{text}\n".encode()
    extra = [(name.replace("_", "-").encode(), value) for name, value in headers.items()]
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
