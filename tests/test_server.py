"""Server mode against a real `chroma run` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import ARTICLE, free_port, run_cli, serving


def _chroma_exe() -> str:
    exe = Path(sys.executable).with_name("chroma")
    return str(exe) if exe.exists() else (shutil.which("chroma") or pytest.fail("the chroma CLI is not installed"))


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    url = f"http://127.0.0.1:{port}"
    cmd = [_chroma_exe(), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"{url}/api/v2/heartbeat", data / "server.log", timeout=60):
        yield url


def test_index_and_answer_through_a_chroma_server(chroma_url, tmp_path):
    from askdoc import Index

    idx = Index(tmp_path / "unused", chroma_url=chroma_url, name="server-test")
    assert idx.add_file_result(ARTICLE).status == "added"
    assert idx.add_file_result(ARTICLE).status == "unchanged"
    ans = idx.answer("Who is the chairman of NAM?")
    assert ans.found and "Ilham Aliyev" in ans.text
    doc = idx.document(ans.citations[0].doc_id)
    assert all(c.quote == doc.text[c.start : c.end] for c in ans.citations)
    # Nothing was written to the local folder: the server holds the index.
    assert not (tmp_path / "unused" / "chroma.sqlite3").exists()
    # A second client sees the same index.
    again = Index(chroma_url=chroma_url, name="server-test")
    assert [d.doc_id for d in again.documents()] == ["azerbaijan-leads-nam"]


def test_cli_uses_the_server(chroma_url):
    done = run_cli("ask", "Where was the summit held?", "--json", "--chroma-url", chroma_url)
    assert done.returncode == 0, done.stderr
    assert "Baku" in json.loads(done.stdout)["text"]
    env = {"ASKDOC_CHROMA_URL": chroma_url}
    docs = run_cli("docs", "--json", env=env)
    assert "azerbaijan-leads-nam" in docs.stdout
