"""The command line: readable and JSON output, and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, free_port, run_cli


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    """An index folder used only by CLI subprocesses (Chroma's embedded store is single-process)."""
    path = tmp_path_factory.mktemp("cli-index")
    done = run_cli("index", "--index-dir", str(path))
    assert done.returncode == 0, done.stderr
    assert "azerbaijan-leads-nam" in done.stdout
    return path


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys, time; t = time.perf_counter(); import askdoc.cli; "
        "askdoc.cli.build_parser().format_help(); "
        "print(time.perf_counter() - t, 'torch' in sys.modules, 'chromadb' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False", "False"]
    assert float(out[0]) < 0.5
    done = run_cli("--help")
    assert done.returncode == 0 and "ask" in done.stdout and "index" in done.stdout


def test_ask_prints_quote_and_numbered_citation(cli_index):
    done = run_cli("ask", "Where was the summit held?", "--index-dir", str(cli_index))
    assert done.returncode == 0, done.stderr
    assert "Baku" in done.stdout
    assert "[1] Azerbaijan Leads Non-Aligned Movement — line " in done.stdout
    assert "Traceback" not in done.stderr


def test_ask_json_has_the_contract_fields(cli_index, article_text):
    done = run_cli("ask", "Who is the chairman of NAM?", "--json", "--index-dir", str(cli_index))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"found", "text", "confidence", "citations", "passages"} <= data.keys()
    assert data["found"] and "Ilham Aliyev" in data["text"]
    for c in data["citations"]:
        assert {"doc_id", "title", "source", "start", "end", "quote", "score"} <= c.keys()
        assert article_text[c["start"] : c["end"]] == c["quote"]


def test_ask_off_topic_says_so_and_shows_passages(cli_index):
    done = run_cli("ask", "What is the capital of France?", "--index-dir", str(cli_index))
    assert done.returncode == 0
    assert "do not say" in done.stdout and "[1]" in done.stdout


def _assert_one_line_error(done, code: int, *needles: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("askdoc: error:"), done.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("question", ["", "   "])
def test_blank_question_is_an_error(question):
    _assert_one_line_error(run_cli("ask", question), 2, "empty")


def test_bad_files_are_refused_and_the_index_survives(cli_index, tmp_path):
    files = {
        "missing.txt": None,
        "empty.txt": b"",
        "blank.md": b"  \n\n\t\n",
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "latin1.txt": "Caf\u00e9 cr\u00e8me, na\u00efve.".encode("latin-1"),
        "image.png": b"\x89PNG\r\n",
    }
    for name, data in files.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        done = run_cli("index", str(path), "--index-dir", str(cli_index))
        _assert_one_line_error(done, 3, name)
    unreadable = tmp_path / "folder.txt"
    unreadable.mkdir()
    _assert_one_line_error(run_cli("index", str(unreadable), "--index-dir", str(cli_index)), 3, "folder.txt")
    # What was indexed before still answers.
    docs = run_cli("docs", "--json", "--index-dir", str(cli_index))
    assert [d["doc_id"] for d in json.loads(docs.stdout)] == ["azerbaijan-leads-nam"]
    done = run_cli("ask", "When was NAM established?", "--index-dir", str(cli_index))
    assert done.returncode == 0 and "1961" in done.stdout


def test_one_bad_path_does_not_stop_the_good_ones(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Good News\n\nThe lighthouse was painted red in 1999.\n", encoding="utf-8")
    index_dir = tmp_path / "idx"
    done = run_cli("index", str(tmp_path / "nope.txt"), str(good), "--index-dir", str(index_dir))
    assert done.returncode == 3
    assert "nope.txt" in done.stderr and "added" in done.stdout and "good" in done.stdout
    done = run_cli("ask", "What colour was the lighthouse painted?", "--json", "--index-dir", str(index_dir))
    assert "red" in json.loads(done.stdout)["text"]


def test_unreachable_chroma_url_fails_fast():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    done = run_cli("ask", "Where was the summit held?", "--chroma-url", f"http://127.0.0.1:{port}")
    _assert_one_line_error(done, 4, f"127.0.0.1:{port}", "unreachable")
    assert time.monotonic() - started < 30


def test_bad_settings_are_one_line_errors():
    _assert_one_line_error(run_cli("ask", "Where?", env={"ASKDOC_TOP_K": "many"}), 2, "ASKDOC_TOP_K")
    _assert_one_line_error(run_cli("ask", "Where?", "--chroma-url", "ftp://x"), 2, "Chroma URL")


def test_console_script_is_installed():
    exe = ROOT / ".venv" / "bin" / "askdoc"
    if not exe.exists():
        pytest.skip("not run from the project's .venv")
    assert subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.startswith("askdoc")
