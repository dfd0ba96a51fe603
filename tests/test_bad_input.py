"""Bad questions and bad documents get clear messages, and the index keeps answering."""

from __future__ import annotations

import pytest

import askdoc

from .conftest import run_cli
from .test_index import _pdf_bytes


@pytest.mark.parametrize(
    "question",
    [
        "Ｗｈｅｎ ｗａｓ ＮＡＭ ｅｓｔａｂｌｉｓｈｅｄ？",  # full-width forms
        "When\x00 was NAM\x07 established?\x1b[31m",  # control characters
        "When was\u200b NAM\u200e established?",  # zero-width and direction marks
        "When was NAM established? 🤔🏛️",  # emoji
    ],
)
def test_odd_questions_are_normalised_and_answered(article_index, question):
    ans = article_index.answer(question)
    assert ans.found and "1961" in ans.text


@pytest.mark.parametrize("question", ["\x00\x01\x02", " \u200b\u200b ", "x" * 100_000])
def test_unusable_questions_are_clear_errors(article_index, question):
    with pytest.raises(askdoc.QuestionError) as err:
        article_index.answer(question)
    assert "empty" in str(err.value) or "too long" in str(err.value)


def test_very_long_question_on_the_cli_is_one_line():
    done = run_cli("ask", "why " * 25_000)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "too long" in done.stderr


def test_documents_that_cannot_be_indexed(tmp_path, fresh_index):
    fresh_index.add_text("Keep Me\n\nThe keeper lives in the lighthouse.", doc_id="keep")
    scripts = tmp_path / "scripts.html"
    scripts.write_text("<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>")
    imageonly = tmp_path / "scan.pdf"
    imageonly.write_bytes(_pdf_bytes([]))  # a page with no text layer
    big = tmp_path / "big.txt"
    big.write_text("A long line of text. " * 2000, encoding="utf-8")
    cases = {
        scripts: (askdoc.EmptyDocument, "no text"),
        imageonly: (askdoc.EmptyDocument, "no text layer"),
        tmp_path / "notes.docx": (askdoc.DocumentNotFound, "no such file"),
    }
    (tmp_path / "data.xyz").write_text("hello", encoding="utf-8")
    cases[tmp_path / "data.xyz"] = (askdoc.UnsupportedDocument, "unsupported file type .xyz")
    for path, (kind, message) in cases.items():
        with pytest.raises(kind) as err:
            fresh_index.add_file(path)
        assert message in str(err.value) and path.name in str(err.value)
    small = askdoc.Index(fresh_index.settings.index_dir, max_document_bytes=10_000)
    with pytest.raises(askdoc.DocumentError, match="limit"):
        small.add_file(big)
    assert [d.doc_id for d in fresh_index.documents()] == ["keep"]
    assert "lighthouse" in fresh_index.answer("Where does the keeper live?").text


def test_upload_names_cannot_traverse_paths(tmp_path, fresh_index):
    from askdoc.ui import ChatApp

    upload = tmp_path / "..%2F..%2Fetc%2Fpasswd .txt"
    upload.write_text("Passwd Notes\n\nThe password file lists accounts.", encoding="utf-8")
    app = ChatApp(fresh_index)
    message, _ = app.upload(str(upload))
    doc_ids = [d.doc_id for d in fresh_index.documents()]
    assert len(doc_ids) == 1 and "/" not in doc_ids[0] and ".." not in doc_ids[0]
    assert doc_ids[0] in message
    assert not (tmp_path.parent / "etc").exists()


def test_chat_shows_errors_as_messages(article_index):
    from askdoc.ui import ChatApp

    app = ChatApp(article_index)
    history, sources, evidence = app.ask("   ", [], "", 5, False)
    assert history == [] and evidence == []  # an empty question adds no bubble
    history, _, evidence = app.ask("x" * 100_000, history, "", 5, False)
    assert history[-1]["role"] == "assistant" and "too long" in history[-1]["content"] and evidence == []
    history, sources, evidence = app.ask("When was NAM established?", history, "", 5, False)
    assert "1961" in history[-1]["content"] and len(history) == 4 and "ev-1-1" in sources


def test_binds_loopback_unless_told(monkeypatch):
    from askdoc import ui

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert ui.address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8081")
    assert ui.address() == ("0.0.0.0", 8081)
    assert ui.address("127.0.0.2", 9000) == ("127.0.0.2", 9000)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "eighty")
    with pytest.raises(askdoc.ConfigError):
        ui.address()
