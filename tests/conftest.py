"""Shared fixtures: the real bundled model, and indexes in temporary folders."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "src" / "askdoc" / "data" / "azerbaijan-leads-nam.txt"


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE.read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def embedder():
    from askdoc.embed import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def article_index(tmp_path_factory):
    """An index holding only the default article (read-only for tests)."""
    from askdoc import Index

    idx = Index(tmp_path_factory.mktemp("article-index"))
    idx.add_file(ARTICLE)
    return idx


@pytest.fixture()
def fake_embedder(monkeypatch):
    """Indexes made in this test embed with `tests.fakes.FakeEmbedder`: no model, for tests
    of the store rather than of the answers."""
    import askdoc.index

    from .fakes import FakeEmbedder

    monkeypatch.setattr(askdoc.index, "Embedder", FakeEmbedder)


@pytest.fixture()
def fresh_index(tmp_path):
    from askdoc import Index

    return Index(tmp_path / "index")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 120, fresh: bool = False
) -> subprocess.CompletedProcess:
    """Run the askdoc CLI and capture what it prints.

    In this process by default: the same `cli.main` a fresh process runs, with the
    environment and working directory it would have, but with torch, Chroma and the
    models already loaded (a fraction of a second, where a new process takes seconds).
    ``fresh=True`` starts a new process, for tests about processes themselves: a cold
    start, what is logged, how it exits."""
    full_env = {**os.environ, **(env or {})}
    if fresh:
        return subprocess.run(
            [sys.executable, "-m", "askdoc.cli", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=ROOT,
        )
    from askdoc import cli

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(full_env)
    os.chdir(ROOT)
    # What a fresh process prints of askdoc's warnings (Python's last-resort handler: the
    # bare message on stderr), which pytest's own log capture would otherwise take.
    printed = logging.StreamHandler(err)
    printed.setLevel(logging.WARNING)
    logging.getLogger("askdoc").addHandler(printed)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        logging.getLogger("askdoc").removeHandler(printed)
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(["askdoc", *args], code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def serving(cmd: list[str], ready_url: str, log_path: Path, timeout: float = 180, **popen):
    """Run a server process until ``ready_url`` answers; stop it (bounded) on exit."""
    import pytest

    from askdoc.serving import run_server

    with contextlib.ExitStack() as stack:
        try:
            proc = stack.enter_context(run_server(cmd, ready_url, log_path, timeout, **popen))
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield proc


@contextlib.contextmanager
def start_app(folder, **extra_env: str):
    """`python app.py` on a free loopback port with its own index; yields its URL and start time."""
    port = free_port()
    env = {**os.environ, "ASKDOC_INDEX_DIR": str(folder / "index"), "ASKDOC_MAX_UPLOAD_BYTES": "200000", **extra_env}
    env.pop("GRADIO_SERVER_NAME", None)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    cmd = [sys.executable, "app.py", "--port", str(port)]
    with serving(cmd, url, folder / "server.log", cwd=ROOT, env=env) as proc:
        yield {"url": url, "started": started, "index_dir": folder / "index", "pid": proc.pid}


#: The upload cap of `chat_server`: its request-body cap is this plus 1 MB.
SHARED_UPLOAD_BYTES = 500_000


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory):
    """One chat server (`app.py`, the article indexed) for the load, body-cap and memory
    tests: starting one takes most of a test's time on two cores."""
    with start_app(tmp_path_factory.mktemp("chat"), ASKDOC_MAX_UPLOAD_BYTES=str(SHARED_UPLOAD_BYTES)) as running:
        yield running
