"""Nothing silently lost, nothing stale: text kept whole, one document per source, fresh answers."""

from __future__ import annotations

import json

import pytest

from askdoc.ingest import make_document, read_file

from .conftest import ARTICLE, run_cli

# -- page furniture -------------------------------------------------------------

REPORT = (
    "Quarterly Report\n\n"
    "Revenue rose by 8% in the first quarter, driven by the new regional offices.\n\n"
    "Costs were flat, since the move to the new warehouse was paid for last year.\n\n"
    "Subscribers grew to 12,000 by March, up from 9,500 at the start of the year.\n\n"
    "The churn rate fell to 2.1%, the lowest figure the company has ever recorded.\n\n"
    "The board approved a dividend of 40 cents per share, payable in June.\n\n"
    "Hiring will resume in the autumn, when the second warehouse opens in Leeds.\n"
)

NOTES = (
    "# Garden Club Notes\n\n"
    "The spring meeting chose the theme for the summer show.\n\n"
    "Tomatoes did best in the raised beds along the south wall this year.\n\n"
    "## Comments\n\n"
    "Members asked for more shade in the greenhouse, so two new blinds were ordered.\n\n"
    "Tags:\n\n"
    "The club keeps its seed library in the shed behind the church hall.\n\n"
    "Read more\n\n"
    "The autumn meeting will be held on the first Tuesday of October at seven.\n"
)


def test_furniture_words_inside_real_content_do_not_cut_the_document(tmp_path):
    report = make_document(REPORT, doc_id="report")
    assert report.body_end == len(REPORT.rstrip())
    notes_path = tmp_path / "notes.md"
    notes_path.write_text(NOTES, encoding="utf-8")
    notes = read_file(notes_path)
    assert notes.text[notes.body_start : notes.body_end].endswith("first Tuesday of October at seven.")


def test_a_trailing_list_of_posts_is_still_dropped(article_text):
    doc = make_document(article_text, doc_id="article")
    body = doc.text[doc.body_start : doc.body_end]
    assert body.endswith("Institute of Peace and Diplomatic Studies).")
    assert (doc.body_start, doc.body_end) == (0, 6949)  # the range the answer-quality baseline was measured on
    # Furniture at the end of a web page goes too, whatever its heading looks like.
    page = REPORT + "\n## Related posts\n\n- [Annual report](/annual)\n- [Spring results](/spring)\n\nShare\n"
    assert make_document(page, doc_id="page").body_end == len(REPORT.rstrip())


def test_furniture_rules_apply_to_web_pages_only(tmp_path, fresh_index):
    """A Markdown note's "## Comments" and "Tags:" sections are its own (they were cut as a
    web page's furniture); an HTML page's share list still goes, and the chat says so."""
    from askdoc.chatapp import ChatApp

    note = (
        REPORT + "\n## Comments\n\n- Owner: Ingrid Halvorsen\n- Reviewed: 2026-03-02\n\n"
        "Tags:\n\nregion: north\nstatus: final\n"
    )
    (tmp_path / "report.md").write_text(note, encoding="utf-8")
    res = fresh_index.add_file_result(tmp_path / "report.md")
    doc = fresh_index.document("report")
    assert res.furniture_chars == 0 and doc.text[doc.body_start : doc.body_end].endswith("status: final")
    assert "Ingrid Halvorsen" in fresh_index.answer("Who is the owner?").text
    page = "<html><body><p>" + REPORT.replace("\n\n", "</p><p>") + "</p><h3>Share this</h3><p>Twitter</p></body></html>"
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    said, _ = ChatApp(fresh_index).upload(str(tmp_path / "report.html"))
    assert "chars of page furniture at its end skipped" in said, said


def test_indexing_says_how_much_furniture_it_set_aside(fresh_index, tmp_path):
    res = fresh_index.add_file_result(ARTICLE)
    assert res.chars == 6949 and res.furniture_chars == 1204
    assert fresh_index.add_file_result(ARTICLE).furniture_chars == 1204  # also when unchanged
    folder = tmp_path / "cli-index"
    done = run_cli("index", str(ARTICLE), "--index-dir", str(folder))
    assert done.returncode == 0, done.stderr
    assert "indexed 6,949 chars; 1,204 chars of page furniture skipped" in done.stdout


# -- HTML -----------------------------------------------------------------------

DIV_PAGE = """<!doctype html><html><head><title>Harbour Authority</title>
<style>.x { color: red }</style><script>var tracking = "TRACKER";</script></head>
<body>
<header><div class="logo">Harbour Authority</div><nav><a href="/">Home</a> <a href="/about">About us</a></nav></header>
<div id="wrap">
  <div class="intro">The new harbour opened in <b>May 2019</b> after four years of work.</div>
  <div class="body">
    It can berth twelve ships at once.<br>The deepest berth is 18 metres deep.<br/>
    <span>Pilots board ships at the outer buoy.</span>
    <p>Only one paragraph of the page is in a p element.</p>
    Fees are charged per tonne of cargo.
  </div>
  <div hidden>Hidden banner text</div>
</div>
<aside>Advertisement: buy boats</aside>
<footer>Copyright 2024 Harbour Authority</footer>
</body></html>"""

ARTICLE_PAGE = """<html><head><title>Bridge Facts</title></head><body>
<nav>Sections</nav>
<article>
  <header><h1>Bridge Facts</h1><div class="byline">By Ana Silva</div></header>
  <div>The bridge spans the river in a single arch.</div>
  <dl><dt>Length</dt><dd>1,200 metres</dd><dt>Opened</dt><dd>1932</dd></dl>
  <table><tr><th>Year</th><th>Crossings</th></tr><tr><td>2022</td><td>4.1 million</td></tr></table>
  <section><div>Repairs are planned for <i>2026</i>.</div></section>
  <blockquote>A marvel of its age.<div>So said the mayor.</div></blockquote>
</article>
<footer>Contact us</footer>
</body></html>"""


def _html(tmp_path, name, html):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return read_file(path)


def test_html_text_outside_block_elements_is_kept_in_reading_order(tmp_path, fresh_index):
    text = _html(tmp_path, "harbour.html", DIV_PAGE).text
    expected = [
        "The new harbour opened in May 2019 after four years of work.",
        "It can berth twelve ships at once.",
        "The deepest berth is 18 metres deep.",
        "Pilots board ships at the outer buoy.",
        "Only one paragraph of the page is in a p element.",
        "Fees are charged per tonne of cargo.",
    ]
    at = [text.find(line) for line in expected]
    assert -1 not in at and at == sorted(at), text
    for gone in ("TRACKER", "color: red", "Home", "About us", "Advertisement", "Copyright", "Hidden banner"):
        assert gone not in text
    assert text.startswith("Harbour Authority\n\nThe new harbour")
    fresh_index.add_file(tmp_path / "harbour.html")
    ans = fresh_index.answer("How deep is the deepest berth?")
    assert ans.found and "18 metres" in ans.text


def test_html_articles_tables_and_definition_lists(tmp_path):
    text = _html(tmp_path, "bridge.html", ARTICLE_PAGE).text
    for part in (
        "By Ana Silva",
        "The bridge spans the river in a single arch.",
        "Length\n\n1,200 metres",
        "Year | Crossings",
        "2022 | 4.1 million",
        "Repairs are planned for 2026.",
        "A marvel of its age.\n\nSo said the mayor.",
    ):
        assert part in text, (part, text)
    assert "Sections" not in text and "Contact us" not in text
    assert text.count("Bridge Facts") == 1


def test_deeply_nested_html_is_read(tmp_path):
    html = "<html><body>" + "<div>" * 5000 + "Deep text survives." + "</div>" * 5000 + "<p>Shallow.</p></body></html>"
    text = _html(tmp_path, "deep.html", html).text
    assert "Deep text survives." in text and "Shallow." in text


def test_nesting_past_the_browser_cap_is_flattened_with_every_word_kept():
    """The parser's time grows with the square of the depth (40,000 nested <div>s: 3.2 s;
    now 0.06 s), so tags deeper than browsers nest are dropped, never their text."""
    from selectolax.lexbor import LexborHTMLParser

    from askdoc.ingest import MAX_HTML_DEPTH, _flatten_deep, _html_text

    def depth(node) -> int:
        n = 0
        while node is not None:
            node, n = node.parent, n + 1
        return n

    n = 40_000
    html = "<html><body>" + "".join(f"<div class='c'>w{i} <br/>" for i in range(n)) + "</div>" * n + "<p>End.</p>"
    text, _ = _html_text(html)
    words = text.split()
    assert len(words) == n + 1 and words[:2] == ["w0", "w1"] and words[-2:] == [f"w{n - 1}", "End."]
    tree = LexborHTMLParser(_flatten_deep(html))
    assert depth(tree.css("div")[-1]) <= MAX_HTML_DEPTH + 3  # html, body, and the document
    assert depth(tree.css_first("p")) <= 4  # after the divs, not inside them: their closing tags held


SECRETS = ("tok-SECRET-991", "HIDDEN-42", "STYLE-7", "TEMPLATE-8", "ARIA-9", "ATTR-10", "NESTED-11")


def _hidden_things(tag: str = "div") -> str:
    return (
        "<script>var t = 'The API token is tok-SECRET-991.';</script>"
        f"<{tag} style=display:none>The hidden discount code is HIDDEN-42.</{tag}>"
        "<style>.x { content: 'STYLE-7' }</style><template><p>TEMPLATE-8</p></template>"
        f"<{tag} aria-hidden=true>ARIA-9</{tag}><{tag} hidden>ATTR-10<p>NESTED-11</p></{tag}>"
    )


def test_unclosed_paragraphs_never_let_scripts_or_hidden_text_in(tmp_path, fresh_index):
    """600 unclosed <p>s nest no deeper than one (each ends the one before), so nothing is
    flattened; and past the cap, a script or hidden element loses its text with its tags."""
    page = "<html><body>" + "".join(f"<p>P{i}." for i in range(600)) + _hidden_things() + "<p>Last words.</html>"
    (tmp_path / "paras.html").write_text(page, encoding="utf-8")
    fresh_index.add_file(tmp_path / "paras.html")
    text = fresh_index.document("paras").text
    assert not [s for s in SECRETS if s in text], text[-300:]
    assert "P0.\n\nP1." in text and "P599.\n\nLast words." in text  # still 600 paragraphs
    ans = fresh_index.answer("What is the hidden discount code?")
    assert "HIDDEN-42" not in ans.text and not any("HIDDEN-42" in p.text for p in ans.passages)
    # Truly deep: 1,000 nested <div>s, <li>s or <span>s, the hidden things at the bottom.
    from askdoc.ingest import _html_text

    for tag in ("div", "li", "span"):
        deep = f"<{tag}>" * 1000 + "Top. " + _hidden_things(tag) + " Bottom." + f"</{tag}>" * 1000 + "<p>After."
        text, _ = _html_text(deep)
        assert not [s for s in SECRETS if s in text] and text.split() == ["Top.", "Bottom.", "After."], (tag, text)


def _soup(seed: int) -> str:
    """A random page nested past the cap: unclosed and misnested tags, tables, and hidden
    things whose text ("s...") a browser never shows."""
    import random

    rnd = random.Random(seed)
    parts = ["<html><body>"] + [f"<{rnd.choice(['div', 'span', 'section', 'b', 'em'])}>" for _ in range(600)]
    tags = ["div", "span", "section", "b", "i", "p", "li", "ul", "em", "article", "dd", "table", "td", "tr", "a"]
    for k in range(1200):
        r = rnd.random()
        if r < 0.4 and k < 700:
            parts.append(f"<{rnd.choice(tags)}>")
        elif r < 0.55:
            parts.append(f"</{rnd.choice(tags)}>")
        elif r < 0.85:
            parts.append(f" v{k} ")
        else:
            parts.append(
                rnd.choice(
                    [
                        f"<script>s{k} '<div hidden>' </script>",
                        f"<style>s{k}</style>",
                        f"<template>s{k}<p>s{k}x</template>",
                        f"<div hidden>s{k}<p>s{k}y</div>",
                        f"<p aria-hidden=true>s{k}",
                        f"<b hidden>s{k}</b>",
                        f"<div title='a>b' style=\"display&colon;none\">s{k}</div>",
                        f"<!-- <script> -->v{k}c",
                        f"<li hidden>s{k}<li>v{k}l",
                    ]
                )
            )
    return "".join(parts)


def test_flattening_never_shows_what_the_parser_hides():
    """Against the parser's own tree of the unflattened page (1,300 deep: slow but exact), the
    flattened page shows none of the hidden text and nothing the parser does not show."""
    from collections import Counter

    from selectolax.lexbor import LexborHTMLParser

    from askdoc.ingest import _flatten_deep, _walk

    for seed in range(12):
        page = _soup(seed)
        flat = _flatten_deep(page)
        assert flat != page
        shown = Counter(" ".join(_walk(LexborHTMLParser(page).body)).split())
        got = Counter(" ".join(_walk(LexborHTMLParser(flat).body)).split())
        assert not [w for w in got if w.startswith("s")] and not got - shown, (seed, got - shown)


# -- one document per source ------------------------------------------------------


def test_files_with_one_stem_are_documents_of_their_own(tmp_path, fresh_index):
    idx = fresh_index
    (tmp_path / "sub").mkdir()
    inner, outer = tmp_path / "sub" / "a.txt", tmp_path / "a.txt"
    inner.write_text("Inner Notes\n\nThe inner vault holds the gold bars.\n", encoding="utf-8")
    outer.write_text("Outer Notes\n\nThe outer gate is painted blue.\n", encoding="utf-8")
    assert idx.add_file_result(inner).status == "added"
    res = idx.add_file_result(outer)
    assert (res.doc_id, res.status) == ("a-2", "added")
    assert idx.document("a").source == str(inner.resolve()) and idx.document("a-2").source == str(outer.resolve())
    # Re-indexing a file updates its own document, whichever id it got.
    outer.write_text("Outer Notes\n\nThe outer gate is painted green.\n", encoding="utf-8")
    assert (idx.add_file_result(outer).doc_id, idx.add_file_result(inner).status) == ("a-2", "unchanged")
    assert idx.document("a-2").text.endswith("green.\n") and len(idx.documents()) == 2
    assert "gold" in idx.answer("What does the inner vault hold?").text
    # An id given on purpose still replaces what it names.
    assert idx.add_file_result(outer, doc_id="a").status == "updated"
    assert idx.document("a").source == str(outer.resolve())


def test_an_upload_is_known_by_its_file_name_and_never_replaces_another_file(tmp_path, fresh_index):
    """Gradio hands each upload over at a new temporary path: the chat keeps it as
    <index>/uploads/<name>, so the same name updates its document and any other file with
    that stem (another upload, or one indexed from disk) keeps its own."""
    import shutil
    import uuid

    from askdoc.chatapp import ChatApp
    from askdoc.library import rebuild

    def handed_over(name: str, text: str | bytes) -> str:
        path = tmp_path / "gradio" / uuid.uuid4().hex / name
        path.parent.mkdir(parents=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return str(path)

    disk = tmp_path / "disk" / "notes.md"
    disk.parent.mkdir()
    disk.write_text("Disk Notes\n\nThe boiler is serviced every March.\n", encoding="utf-8")
    assert fresh_index.add_file(disk) == "notes"
    app = ChatApp(fresh_index)
    said, _ = app.upload(handed_over("notes.md", "Gate Notes\n\nThe gate code is 4417.\n"))
    assert said.startswith("Indexed") and "`notes-2`" in said, said
    said, _ = app.upload(handed_over("notes.txt", "Key Notes\n\nThe spare key is under the blue pot.\n"))
    assert said.startswith("Indexed") and "`notes-3`" in said, said
    said, _ = app.upload(handed_over("notes.md", "Gate Notes\n\nThe gate code is 5520.\n"))
    assert said.startswith("Re-indexed") and "`notes-2`" in said, said
    said, _ = app.upload(handed_over("notes.md", "Gate Notes\n\nThe gate code is 5520.\n"))
    assert said.startswith("Already indexed") and "`notes-2`" in said, said
    said, _ = app.upload(handed_over("notes.md", b"\x00\x01binary"))  # refused: the kept copy stays
    kept = fresh_index.settings.index_dir / "uploads" / "notes.md"
    assert said.startswith("**Not indexed") and "5520" in kept.read_text()
    assert sorted(d.doc_id for d in fresh_index.documents()) == ["notes", "notes-2", "notes-3"]
    assert "5520" in fresh_index.answer("What is the gate code?").text
    assert "March" in fresh_index.answer("When is the boiler serviced?").text
    # The temporary files are gone; a rebuild still finds every document.
    shutil.rmtree(tmp_path / "gradio")
    idx, results, lost, _, _ = rebuild(fresh_index.settings)
    assert lost == [] and sorted(r.doc_id for r in results) == ["notes", "notes-2", "notes-3"]
    assert "blue pot" in idx.answer("Where is the spare key?").text
    # Removed in the chat, an upload's own copy goes; a file from disk stays.
    app = ChatApp(idx)
    assert app.remove("notes-3").startswith("Removed") and app.remove("notes").startswith("Removed")
    assert not (idx.settings.index_dir / "uploads/notes.txt").exists() and disk.exists()


def test_a_file_name_that_is_not_utf8_gets_an_id_like_any_other(tmp_path):
    """It ended the whole batch with "vector store error (InvalidArgumentError): Invalid where clause"."""
    import os

    odd = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9 notes.txt"))  # Latin-1 bytes
    with open(odd, "w", encoding="utf-8") as f:
        f.write("Cafe Notes\n\nThe espresso machine is descaled on Fridays.\n")
    plain = tmp_path / "tea.txt"
    plain.write_text("Tea Notes\n\nThe teapot is rinsed with hot water.\n", encoding="utf-8")
    folder = str(tmp_path / "index")
    done = run_cli("index", odd, str(plain), "--json", "--index-dir", folder)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert sorted(r["doc_id"] for r in json.loads(done.stdout)) == ["caf-notes", "tea"]
    again = run_cli("index", odd, "--json", "--index-dir", folder)  # the same file: its own document again
    assert [(r["doc_id"], r["status"]) for r in json.loads(again.stdout)] == [("caf-notes", "unchanged")]
    docs = run_cli("docs", "--index-dir", folder)
    assert "caf\\xe9 notes.txt" in docs.stdout, docs.stdout


def test_cli_keeps_one_document_per_file_and_takes_an_id(tmp_path):
    first, second = tmp_path / "my notes file.txt", tmp_path / "my_notes_file.txt"
    first.write_text("First Notes\n\nThe first lamp is red.\n", encoding="utf-8")
    second.write_text("Second Notes\n\nThe second lamp is amber.\n", encoding="utf-8")
    folder = str(tmp_path / "index")
    done = run_cli("index", str(first), str(second), str(second), "--json", "--index-dir", folder)
    assert done.returncode == 0, done.stderr
    got = [(r["doc_id"], r["status"]) for r in json.loads(done.stdout)]
    assert got == [("my-notes-file", "added"), ("my-notes-file-2", "added")]  # the repeated path is said once
    assert "my-notes-file-2" in done.stderr
    done = run_cli("index", str(second), "--id", "lamp", "--index-dir", folder)
    assert done.returncode == 0 and "lamp" in done.stdout, done.stderr
    docs = json.loads(run_cli("docs", "--json", "--index-dir", folder).stdout)
    assert sorted(d["doc_id"] for d in docs) == ["lamp", "my-notes-file", "my-notes-file-2"]
    done = run_cli("index", str(first), str(second), "--id", "x", "--index-dir", folder)
    assert done.returncode == 2 and "--id" in done.stderr


# -- fresh answers ----------------------------------------------------------------

VAULT = "Vault Notes\n\nThe old vault holds the gold bars of the bank.\n"
GATE = "Gate Notes\n\nThe harbour gate is painted blue every spring.\n"
TOWER = "Tower Notes\n\nThe clock tower was built by Hans Keller in 1882.\n"


def _quotes(ans, doc_id: str) -> bool:
    return any(c.doc_id == doc_id for c in ans.citations) or any(p.doc_id == doc_id for p in ans.passages)


def test_two_index_objects_on_one_folder_see_each_others_writes(tmp_path):
    from askdoc import Index, UnknownDocument

    a = Index(tmp_path / "index")
    a.add_text(VAULT, doc_id="vault")
    a.add_text(GATE, doc_id="gate")
    assert "gold" in a.answer("What does the old vault hold?").text  # a's caches are built
    b = Index(tmp_path / "index")
    b.remove("vault")
    assert not _quotes(a.answer("What does the old vault hold?"), "vault")
    with pytest.raises(UnknownDocument):
        a.remove("vault")
    b.add_text(GATE.replace("blue", "green"), doc_id="gate")
    assert "green" in a.answer("What colour is the harbour gate painted?").text
    b.add_text(TOWER, doc_id="tower")
    assert "tower" in [d.doc_id for d in a.documents()]
    assert "Hans Keller" in a.answer("Who built the clock tower?", doc_ids=["tower"]).text
    a.remove("tower")  # a's writes reach b the same way
    assert [d.doc_id for d in b.documents()] == ["gate"]


def test_a_running_index_sees_what_other_processes_commit(tmp_path):
    """The test's Index plays a long-running server; the CLI changes the folder meanwhile."""
    from askdoc import Index

    folder = tmp_path / "index"
    vault, gate, tower = tmp_path / "vault.txt", tmp_path / "gate.txt", tmp_path / "tower.txt"
    for path, text in ((vault, VAULT), (gate, GATE), (tower, TOWER)):
        path.write_text(text, encoding="utf-8")
    server = Index(folder)
    server.add_documents([read_file(vault), read_file(gate)])
    assert "gold" in server.answer("What does the old vault hold?").text

    def cli(*args):
        done = run_cli(*args, "--index-dir", str(folder))
        assert done.returncode == 0, done.stderr

    cli("remove", "vault")
    assert not _quotes(server.answer("What does the old vault hold?"), "vault")
    gate.write_text(GATE.replace("blue", "green"), encoding="utf-8")
    cli("index", str(gate))
    ans = server.answer("What colour is the harbour gate painted?")
    assert "green" in ans.text and all("blue" not in p.text for p in ans.passages)
    cli("index", str(tower))
    ans = server.answer("Who built the clock tower?", doc_ids=["tower"])
    assert ans.found and "Hans Keller" in ans.text
    assert [d.doc_id for d in server.documents()] == ["gate", "tower"]
    server.remove("tower")  # and its own writes start from what the others committed
    assert [d.doc_id for d in Index(folder).documents()] == ["gate"]


def test_index_objects_on_one_chroma_server_see_each_others_writes(tmp_path):
    from askdoc import Index

    from .conftest import free_port, serving
    from .test_server import _chroma_exe

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [_chroma_exe(), "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"{url}/api/v2/heartbeat", tmp_path / "chroma.log", timeout=60):
        a = Index(chroma_url=url, name="fresh")
        a.add_text(VAULT, doc_id="vault")
        a.add_text(GATE, doc_id="gate")
        assert "gold" in a.answer("What does the old vault hold?").text
        b = Index(chroma_url=url, name="fresh")
        b.remove("vault")
        b.add_text(TOWER, doc_id="tower")
        assert not _quotes(a.answer("What does the old vault hold?"), "vault")
        assert "Hans Keller" in a.answer("Who built the clock tower?", doc_ids=["tower"]).text


# -- internal errors become one-line messages --------------------------------------


@pytest.mark.parametrize("k", [1.5, "3", -1, 0, True, 10**9])
def test_a_bad_k_is_a_clear_error(article_index, k):
    from askdoc.errors import QuestionError

    with pytest.raises(QuestionError, match="k must be"):
        article_index.answer("When was NAM established?", k=k)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda idx: idx.add_text("x\udce9 y.", doc_id="s"), "DocumentEncodingError", "not valid Unicode"),
        (lambda idx: idx.add_text("Some words here.", doc_id="t", title=5), "DocumentError", "title must be a str"),
        (lambda idx: idx.add_text("Some words here.", doc_id=None), "DocumentError", "non-empty str"),
        (lambda idx: idx.add_text("Some words here.", doc_id=" "), "DocumentError", "non-empty str"),
        (lambda idx: idx.answer("When was NAM established?", doc_ids=5), "QuestionError", "doc_ids must be"),
        (lambda idx: idx.answer("When was NAM established?", doc_ids=[5]), "QuestionError", "doc_ids must be"),
    ],
)
def test_bad_arguments_to_the_python_api_are_askdoc_errors(article_index, call, error, match):
    """Each was a raw UnicodeEncodeError, AttributeError or TypeError, or a "vector store error"."""
    from askdoc import errors

    with pytest.raises(getattr(errors, error), match=match):
        call(article_index)
    assert [d.doc_id for d in article_index.documents()] == ["azerbaijan-leads-nam"]  # nothing else went in


def test_a_title_of_none_is_no_title(fresh_index):
    fresh_index.add_text("Kiln Notes\n\nThe kiln fires at 1,200 degrees.", doc_id="kiln", title=None)
    assert fresh_index.document("kiln").title == "Kiln Notes"


@pytest.mark.parametrize("k", ["abc", None, 1.5, "3", True, 0])
def test_the_answer_api_checks_k(article_index, k):
    """/answer passed k through int(): "abc" and null were tracebacks, 1.5, "3" and true went through."""
    from askdoc.chatapp import ChatApp

    got = ChatApp(article_index).api_answer("When was NAM established?", k=k)
    if k in (None, 0) and k is not True:  # the default
        assert got.get("error") is None and "1961" in got["text"]
    else:
        assert got["error"].startswith("k must be a whole number") and got["text"] == ""


def test_one_doc_id_given_as_a_string_is_one_id(article_index):
    ans = article_index.answer("When was NAM established?", doc_ids="azerbaijan-leads-nam")
    assert ans.found and ans.citations[0].doc_id == "azerbaijan-leads-nam"


def test_undecodable_bytes_in_a_question_are_a_clear_error(article_index, tmp_path):
    from askdoc.chatapp import ChatApp
    from askdoc.errors import QuestionError

    with pytest.raises(QuestionError, match="not UTF-8"):
        article_index.answer("\udce9t\udce9")
    assert "not UTF-8" in ChatApp(article_index).api_answer("\udce9t\udce9")["error"]
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"askdoc.cli", b"ask", b"\xe9t\xe9", b"--index-dir", str(tmp_path).encode()],
        capture_output=True, cwd=ROOT, env=os.environ, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and b"not UTF-8" in done.stderr and b"internal error" not in done.stderr


@pytest.mark.parametrize("bad", [None, b"bytes", 42])
def test_add_text_refuses_what_is_not_text(fresh_index, bad):
    from askdoc.errors import DocumentError

    with pytest.raises(DocumentError, match="must be a str"):
        fresh_index.add_text(bad, doc_id="x")


def test_index_names_and_paths_are_checked_before_anything_moves(tmp_path):
    from askdoc import Index
    from askdoc.errors import ConfigError

    with pytest.raises(ConfigError, match="not allowed"):
        Index(tmp_path / "idx", name="a b")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        Index(a_file)
    assert a_file.read_text() == "x" and not list(tmp_path.glob("*.damaged-*"))


def test_settings_that_cannot_work_are_refused(tmp_path):
    res = run_cli("docs", "--index-dir", str(tmp_path), env={"ASKDOC_MAX_DOCUMENT_BYTES": "-1"})
    assert res.returncode == 2 and "max_document_bytes" in res.stderr
    import torch

    if torch.cuda.is_available():
        return  # the CUDA half of this test needs a machine without one
    res = run_cli("ask", "When?", "--index-dir", str(tmp_path), env={"ASKDOC_DEVICE": "cuda"})
    assert res.returncode == 2 and "no CUDA" in res.stderr and "internal error" not in res.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path):
    import subprocess
    import sys

    from .conftest import ROOT

    cmd = f"{sys.executable} -m askdoc.cli ask 'When was NAM established?' --index-dir {tmp_path} | head -c 0"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


# -- ingest details ----------------------------------------------------------------


def test_a_utf8_bom_is_no_part_of_the_title_or_the_text(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeffBrightwater Tea\n\nFounded by Ann Lee in 1998.".encode())
    doc = read_file(f)
    assert doc.title == "Brightwater Tea" and not doc.text.startswith("\ufeff")


def test_lone_cr_line_ends_are_lines(tmp_path):
    f = tmp_path / "mac.txt"
    f.write_bytes(b"Old Mac Notes\rThe harbour opened in 1871.\rThe lighthouse followed in 1880.")
    doc = read_file(f)
    assert doc.title == "Old Mac Notes" and doc.text.count("\n") == 2
    assert len(doc.text) == len("Old Mac Notes\rThe harbour opened in 1871.\rThe lighthouse followed in 1880.")


def test_utf16_files_are_decoded(tmp_path):
    f = tmp_path / "wide.txt"
    f.write_bytes("Wide Notes\n\nThe bridge was built in 1932.".encode("utf-16"))
    doc = read_file(f)
    assert doc.title == "Wide Notes" and "built in 1932" in doc.text


def test_a_punctuation_only_file_is_refused(tmp_path):
    from askdoc.errors import EmptyDocument

    f = tmp_path / "dots.txt"
    f.write_text("... !!! ---\n\n???")
    with pytest.raises(EmptyDocument, match="no words"):
        read_file(f)


def test_markdown_front_matter_is_metadata_not_prose(tmp_path, fresh_index):
    f = tmp_path / "tea.md"
    f.write_text("---\ntitle: Brightwater Tea\nauthor: Ann Lee\ntags: [tea]\n---\n\nBrightwater sells green tea.\n")
    doc = read_file(f)
    assert (doc.title, doc.author) == ("Brightwater Tea", "Ann Lee")
    assert doc.text[doc.body_start :].startswith("Brightwater sells")
    fresh_index.add_file(f)
    ans = fresh_index.answer("What does Brightwater sell?")
    assert ans.found and "tags" not in ans.text and "---" not in ans.text


def test_remove_goes_on_past_an_unknown_id(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Alpha Notes\n\nThe alpha project began in 2001.")
    b.write_text("Beta Notes\n\nThe beta project began in 2002.")
    idx = str(tmp_path / "idx")
    assert run_cli("index", str(a), str(b), "--index-dir", idx).returncode == 0
    res = run_cli("remove", "nope", "a", "b", "--index-dir", idx)
    assert res.returncode == 3 and "'nope'" in res.stderr
    assert "removed a" in res.stdout and "removed b" in res.stdout


def test_fenced_code_is_never_quoted(tmp_path, fresh_index):
    f = tmp_path / "tool.md"
    f.write_text(
        "# Tool Guide\n\nThe tool prints a greeting when it starts.\n\n"
        "```python\nprint('The default port is 9999.')\n```\n\n"
        "The default port is 8080, set in the config file.\n"
    )
    fresh_index.add_file(f)
    ans = fresh_index.answer("What is the default port?")
    assert ans.found and "8080" in ans.text and "9999" not in ans.text
    # Quotes are made of stored sentences: none of them lies in the code block.
    from askdoc.chunk import chunk_document

    doc = fresh_index.document("tool")
    spans = [s for c in chunk_document(doc, 160, 40) for s in c.sentences]
    assert spans and not any("9999" in doc.text[s.start : s.end] for s in spans)
