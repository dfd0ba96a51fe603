"""Request bodies are capped: the chat server refuses an oversized POST before reading it."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from urllib.parse import urlparse


def _post(url: str, path: str, head: dict[str, str], chunks, timeout: float = 20) -> tuple[int, float]:
    """Send a POST piece by piece on a raw socket (so that the server may answer before
    the body is all sent); returns the status and the seconds it took."""
    u = urlparse(url)
    started = time.monotonic()
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        lines = [f"POST {path} HTTP/1.1", f"Host: {u.netloc}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
        s.sendall("\r\n".join(lines).encode())
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while the body was still coming
        reply = s.makefile("rb").readline()
    return int(reply.split()[1]), time.monotonic() - started


def test_oversized_request_bodies_are_refused(chat_server):
    """The shared chat server (ASKDOC_MAX_UPLOAD_BYTES=500000)."""
    url = chat_server["url"]
    # A declared 30 MB body: refused at once, without the body being sent.
    head = {"Content-Type": "application/json", "Content-Length": str(30_000_000)}
    status, took = _post(url, "/gradio_api/call/answer", head, [b'{"data": ["' + b"a" * 1000])
    assert status == 413 and took < 5
    # A chunked body with no length: cut off once it passes the cap (about 1.5 MB here).
    piece = b"a" * 100_000
    chunked = (b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(300))  # 30 MB if it were all read
    head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, took = _post(url, "/gradio_api/call/answer", head, chunked)
    assert status == 413 and took < 10
    # An ordinary call still works.
    req = urllib.request.Request(
        f"{url}/gradio_api/call/answer",
        data=json.dumps({"data": ["Who is the chairman of NAM?", 0, ""]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200 and "event_id" in json.loads(resp.read())
