"""Serving: where the chat listens (checked before anything loads), start a server on a
free loopback port for a while (``chroma run``, ``askdoc serve``), and drive the chat's
API with concurrent clients."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .errors import ConfigError

#: Where the browser chat listens unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: the arguments, else GRADIO_SERVER_NAME/PORT, else 127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    try:
        port = int(port or os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    except ValueError:
        raise ConfigError(f"GRADIO_SERVER_PORT={os.environ['GRADIO_SERVER_PORT']!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"port {port} is not a port number: use 1 to 65535")
    return host, port


def check_free(host: str, port: int) -> None:
    """Refuse a port that something else listens on, before the index is loaded (Gradio
    ended in "internal error: OSError: Cannot find empty port")."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    family, _, _, _, where = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: a closed one's port is free
        try:
            s.bind(where)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} on {host} is in use by another program (try --port)") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def percentile(values: list[float], p: int) -> float:
    return round(float(np.percentile(values, p)), 2)


def chroma_server(folder: Path):
    """``chroma run`` on 127.0.0.1 for the length of a ``with`` block; yields its URL."""
    exe = Path(sys.executable).with_name("chroma")
    exe = str(exe) if exe.exists() else shutil.which("chroma")
    if not exe:
        raise RuntimeError("the chroma CLI is not installed")
    return _serving([exe, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", "{port}"], "/api/v2/heartbeat")


@contextlib.contextmanager
def run_server(cmd: list[str], ready_url: str, log_path: Path | None = None, timeout: float = 180, **popen):
    """Run a server process until ``ready_url`` answers; yield it; stop it (bounded) on exit.

    Raises RuntimeError, with the end of its log, if it exits or is not ready in time.
    """
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                    raise RuntimeError(f"{Path(cmd[0]).name} did not start on {ready_url}: {tail}") from None
                time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_path:
            log.close()


@contextlib.contextmanager
def _serving(cmd: list[str], ready_path: str) -> Iterator[str]:
    """``cmd`` on a free loopback port (``{port}`` in it) while the block runs; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with run_server([c.format(port=port) for c in cmd], url + ready_path):
        yield url


def concurrent_clients(index_dir: Path, levels: Sequence[int]) -> list[dict]:
    """Clients asking the chat's ``/answer`` API at once, on loopback: throughput and latency."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from .evaluate import default_set_path, load_article_set

    questions = [q.question for q in load_article_set(default_set_path())[1]]
    cmd = [sys.executable, "-m", "askdoc.cli", "serve", "--port", "{port}", "--index-dir", str(index_dir)]
    rows = []
    with _serving(cmd, "/") as url:
        for level in levels:
            clients = [Client(url, verbose=False) for _ in range(level)]
            per_client = max(4, 32 // level)

            def ask(n: int, clients=clients, per_client=per_client) -> list[float]:
                took = []
                for i in range(per_client):
                    t0 = time.perf_counter()
                    clients[n].predict(questions[(n * per_client + i) % len(questions)], api_name="/answer")
                    took.append((time.perf_counter() - t0) * 1000)
                return took

            started = time.perf_counter()
            with ThreadPoolExecutor(level) as pool:
                latencies = [ms for part in pool.map(ask, range(level)) for ms in part]
            elapsed = time.perf_counter() - started
            rows.append(
                {
                    "clients": level,
                    "answers": len(latencies),
                    "answers_per_s": round(len(latencies) / elapsed, 2),
                    "p50_ms": percentile(latencies, 50),
                    "p95_ms": percentile(latencies, 95),
                }
            )
    return rows
