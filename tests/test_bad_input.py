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


def _bomb_pdf() -> bytes:
    """A 78 KB PDF whose one content stream inflates to 80 MB."""
    import zlib

    data = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Boom) Tj ET\n" + b" " * 80_000_000, 9)
    pdf = _pdf_bytes(["placeholder"])
    head, _, rest = pdf.partition(b"4 0 obj\n")
    body, _, tail = rest.partition(b"\nendobj\n")
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
    objs = head + b"4 0 obj\n" + stream + b"\nendobj\n" + tail.split(b"xref\n")[0]
    # The cross-reference table, anew: the offsets after the stream moved.
    offsets = [objs.index(b"%d 0 obj\n" % n) for n in range(1, 6)]
    xref = b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return objs + xref + b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % len(objs)


def test_a_compression_bomb_is_refused_and_the_rest_of_the_batch_goes_in(tmp_path):
    """It ended the whole `askdoc index` batch with "internal error: LimitReachedError"."""
    bomb, good = tmp_path / "bomb.pdf", tmp_path / "memo.txt"
    bomb.write_bytes(_bomb_pdf())
    good.write_text("Memo\n\nThe budget for the bridge is 40 million dollars.\n", encoding="utf-8")
    done = run_cli("index", str(bomb), str(good), "--index-dir", str(tmp_path / "index"))
    assert done.returncode == 3 and "Traceback" not in done.stderr and "internal error" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "bomb.pdf: refused" in errors[0] and "compression bomb" in errors[0]
    assert "memo" in done.stdout


def test_front_matter_alone_is_refused(tmp_path):
    """It was indexed as "-1 chars"."""
    only = tmp_path / "only-meta.md"
    only.write_text("---\ntitle: Only Meta\nauthor: Ana Silva\n---\n", encoding="utf-8")
    done = run_cli("index", str(only), "--index-dir", str(tmp_path / "index"))
    assert done.returncode == 3 and "no text besides its front matter" in done.stderr and "-1" not in done.stdout


def test_an_apple_gpu_on_a_machine_without_one_is_a_clear_error(tmp_path):
    done = run_cli("ask", "When was NAM established?", "--index-dir", str(tmp_path), env={"ASKDOC_DEVICE": "mps"})
    assert done.returncode == 2 and "no Apple GPU" in done.stderr and "internal error" not in done.stderr


def test_upload_names_cannot_traverse_paths(tmp_path, fresh_index):
    from askdoc.chatapp import ChatApp

    upload = tmp_path / "..%2F..%2Fetc%2Fpasswd .txt"
    upload.write_text("Passwd Notes\n\nThe password file lists accounts.", encoding="utf-8")
    app = ChatApp(fresh_index)
    message, _ = app.upload(str(upload))
    doc_ids = [d.doc_id for d in fresh_index.documents()]
    assert len(doc_ids) == 1 and "/" not in doc_ids[0] and ".." not in doc_ids[0]
    assert doc_ids[0] in message
    assert not (tmp_path.parent / "etc").exists()


def test_chat_shows_errors_as_messages(article_index):
    from askdoc.chatapp import ChatApp

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


# -- issue 23, low items ---------------------------------------------------------

BAD_SETS = {
    "squad-no-paragraphs.json": ('{"data": [{"title": "A"}]}', "not a readable SQuAD file"),
    "squad-no-id.json": (
        '{"data": [{"title": "A", "paragraphs": [{"context": "c", "qas": [{"question": "q"}]}]}]}',
        "not a readable SQuAD file",
    ),
    "squad-empty.json": ('{"data": []}', "no questions in it"),
    "empty.jsonl": ("", "no questions in it"),
    "number.jsonl": ("5\n", "bad question record"),
    "no-answer.jsonl": ('{"id": "q1", "question": "Who?"}\n', "bad question record"),
    "dialogue.jsonl": ('{"id": "d1", "turns": [{"question": "Who?"}]}\n', "bad dialogue record"),
}


@pytest.mark.parametrize("name", BAD_SETS)
def test_malformed_or_empty_eval_sets_are_clear_errors(name, tmp_path, capsys):
    """They ended in "internal error: KeyError 'paragraphs'", and an empty set passed the gate."""
    from askdoc.cli import main

    text, said = BAD_SETS[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    args = ["eval", "--quiet", "--squad" if name.startswith("squad") else "--set", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert said in err and "internal error" not in err, err
    if name == "squad-no-paragraphs.json":
        assert main([*args, "--collection"]) == 2 and said in capsys.readouterr().err


def test_serve_refuses_a_bad_or_busy_port_before_loading_anything(capsys):
    """A port above 65535 or one in use ended in "internal error" (after loading the index)."""
    import socket

    from askdoc.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    assert "use 1 to 65535" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 2
    err = capsys.readouterr().err
    assert "is in use by another program" in err and "internal error" not in err


@pytest.mark.parametrize("algorithm", ["RC4-40", "RC4-128", "AES-128"])
def test_a_pdf_with_a_password_is_refused_by_name(algorithm, tmp_path):
    """An RC4 PDF said only "File has not been decrypted"."""
    from pypdf import PdfReader, PdfWriter

    from askdoc.ingest import read_file

    writer = PdfWriter()
    writer.append(PdfReader(__import__("io").BytesIO(_pdf_bytes(["The vault code is 4417."]))))
    writer.encrypt(user_password="pw", owner_password="owner", algorithm=algorithm)
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as f:
        writer.write(f)
    with pytest.raises(askdoc.DocumentError, match="locked.pdf: the PDF is password-protected"):
        read_file(path)


def test_failed_logins_back_off_per_client():
    """50 logins in 0.5 s went unchecked. After 5 failures an address waits, doubling per failure;
    other addresses do not, and a success clears the count."""
    import asyncio

    from askdoc.loginlimit import FREE_TRIES, LoginLimit

    good = {"ok": True}
    now = [100.0]

    async def app(scope, receive, send):  # Gradio's /login: 200 or 400
        await send({"type": "http.response.start", "status": 200 if good["ok"] else 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limit = LoginLimit(app, clock=lambda: now[0])

    def login(client: str) -> int:
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/login", "client": (client, 5000)}
        asyncio.run(limit(scope, None, send))
        return sent[0]["status"]

    good["ok"] = False
    assert [login("10.0.0.1") for _ in range(FREE_TRIES + 2)] == [400] * FREE_TRIES + [429, 429]
    assert login("10.0.0.2") == 400  # another client is not slowed
    now[0] += 1.1
    assert login("10.0.0.1") == 400 and login("10.0.0.1") == 429  # one more try, then 2 s
    now[0] += 2.1
    good["ok"] = True
    assert login("10.0.0.1") == 200
    good["ok"] = False
    assert login("10.0.0.1") == 400  # the count starts over


def test_reindexing_a_file_also_indexed_under_an_id_updates_both(tmp_path, fake_embedder, monkeypatch, capsys):
    """`askdoc index notes.md`, then `askdoc index notes.md --id X`, then the file changes:
    re-indexing it updated only X; now both, and it says so."""
    from askdoc import Index
    from askdoc.cli import main

    monkeypatch.setenv("ASKDOC_READER", "off")
    notes, folder = tmp_path / "notes.md", str(tmp_path / "index")
    notes.write_text("# Notes\n\nThe pump was serviced in May.\n", encoding="utf-8")
    assert main(["index", str(notes), "--index-dir", folder]) == 0
    assert main(["index", str(notes), "--id", "X", "--index-dir", folder]) == 0
    notes.write_text("# Notes\n\nThe pump was serviced in June.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["index", str(notes), "--index-dir", folder]) == 0
    out, err = capsys.readouterr()
    assert "updated" in out and "'notes' is from the same file: updated too" in err, (out, err)
    idx = Index(folder, reader="off")
    assert {d.doc_id: "June" in d.text for d in idx.documents()} == {"X": True, "notes": True}
