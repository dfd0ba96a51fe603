"""The Python API: indexing, fingerprints, answers, citations, abstention."""

from __future__ import annotations

import pytest

import askdoc
from askdoc import Index

from .conftest import ARTICLE

DONE_WHEN = [
    ("Where was the summit held?", "Baku"),
    ("What does NAM stand for?", "Non-Aligned Movement"),
    ("Who is the chairman of NAM?", "Ilham Aliyev"),
    ("When was NAM established?", "1961"),
]


@pytest.mark.parametrize(("question", "gold"), DONE_WHEN)
def test_answers_the_done_when_questions(article_index, question, gold):
    ans = article_index.answer(question)
    assert ans.found, ans
    assert gold in ans.text
    assert 0.0 <= ans.confidence <= 1.0
    assert ans.citations and ans.passages


QUESTIONS = [q for q, _ in DONE_WHEN] + [
    "How many member states does NAM have?",
    "What did Baku call on developed states to do?",
    "Who wrote the article?",
    "What is the capital of France?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_citations_are_verbatim(article_index, article_text, question):
    ans = article_index.answer(question)
    for c in ans.citations:
        assert c.quote == article_text[c.start : c.end]
        assert c.doc_id == "azerbaijan-leads-nam" and c.title == "Azerbaijan Leads Non-Aligned Movement"
        assert c.source and c.source.endswith("azerbaijan-leads-nam.txt")
    if ans.found:
        # The answer is one contiguous stretch of the document, spanning its citations.
        start, end = ans.citations[0].start, ans.citations[-1].end
        assert ans.text == article_text[start:end]
    for p in ans.passages:
        assert p.text == article_text[p.start : p.end]


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("question", [*QUESTIONS[:4], "What does NAM stand for?"])
def test_the_quoted_passage_is_listed_first(article_index, question, k):
    # For the last, retrieval does not rank the article's opening paragraph at all; the
    # answer stage quotes it, and the passage it quotes leads the k listed.
    ans = article_index.answer(question, k=k)
    assert ans.found and len(ans.passages) == k
    first = ans.passages[0]
    assert any(first.start <= c.start and c.end <= first.end for c in ans.citations)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "How do I bake sourdough bread?", "Who won the 2018 FIFA World Cup?"],
)
def test_abstains_off_topic(article_index, question):
    ans = article_index.answer(question)
    assert not ans.found
    assert ans.text == "" and ans.citations == []
    assert ans.passages, "the closest passages are still shown"
    assert ans.reason


def test_fingerprint_reuses_unchanged_and_reindexes_changed(tmp_path, monkeypatch):
    idx = Index(tmp_path)
    text = "Alpha Report\n\nThe alpha project started in 2001. It was led by Maria Gomez."
    assert idx.add_text(text, doc_id="alpha").status == "added"
    calls = []
    monkeypatch.setattr(idx.embedder, "encode_pooled", lambda texts: calls.append(texts) or pytest.fail("re-embedded"))
    assert idx.add_text(text, doc_id="alpha").status == "unchanged"
    assert calls == []
    monkeypatch.undo()
    changed = text.replace("2001", "2003")
    assert idx.add_text(changed, doc_id="alpha").status == "updated"
    ans = idx.answer("When did the alpha project start?")
    assert ans.found and "2003" in ans.text and "2001" not in ans.text
    # Another chunker setting changes the fingerprint, so the same text is re-indexed.
    other = Index(tmp_path, chunk_tokens=64, chunk_overlap=0)
    assert other.add_text(changed, doc_id="alpha").status == "updated"


def test_reindexing_never_duplicates_chunks(tmp_path, article_text):
    idx = Index(tmp_path)
    idx.add_text(article_text, doc_id="nam")
    chunks, sentences = idx.store.chunks.count(), idx.store.sentences.count()
    for variant in (article_text + "\nExtra line.", article_text):
        idx.add_text(variant, doc_id="nam")
    assert idx.store.chunks.count() == chunks
    assert idx.store.sentences.count() == sentences  # one row per chunk holding a sentence first
    assert idx.store.docs.count() == 1
    ans = idx.answer("When was NAM established?")
    assert len({(p.start, p.end) for p in ans.passages}) == len(ans.passages)


def test_index_persists_across_instances(tmp_path):
    Index(tmp_path).add_text("Zeta Notes\n\nThe zeta reactor is cooled by liquid sodium.", doc_id="zeta")
    again = Index(tmp_path)
    assert [d.doc_id for d in again.documents()] == ["zeta"]
    assert "sodium" in again.answer("What cools the zeta reactor?").text


def test_remove_and_document_filter(tmp_path):
    idx = Index(tmp_path)
    idx.add_text("Cats\n\nCats sleep for about fifteen hours a day.", doc_id="cats", title="Cats")
    idx.add_text("Dogs\n\nDogs were domesticated from wolves.", doc_id="dogs", title="Dogs")
    ans = idx.answer("How long do cats sleep?", doc_ids=["cats"])
    assert ans.found and all(c.doc_id == "cats" for c in ans.citations)
    assert all(p.doc_id == "dogs" for p in idx.answer("What were dogs domesticated from?", doc_ids=["dogs"]).passages)
    idx.remove("cats")
    assert [d.doc_id for d in idx.documents()] == ["dogs"]
    assert idx.store.chunks.get(where={"doc_id": "cats"})["ids"] == []
    with pytest.raises(askdoc.UnknownDocument):
        idx.remove("cats")
    with pytest.raises(askdoc.UnknownDocument):
        idx.answer("How long do cats sleep?", doc_ids=["cats"])


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_blank_questions_are_errors(article_index, question):
    with pytest.raises(askdoc.QuestionError):
        article_index.answer(question)


def _pdf_bytes(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a text layer (Helvetica)."""
    ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(ops), ops.encode()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_html_markdown_and_pdf_files(tmp_path):
    html = tmp_path / "Page One.html"
    html.write_text(
        "<html><head><title>Harbour News</title><script>var secret='TOPSECRET';</script></head><body>"
        "<nav>Home | About</nav><article><h1>Harbour News</h1><p>The new harbour opened in <b>May 2019</b>.</p>"
        "<p>It can berth twelve ships.</p></article><footer>Copyright</footer></body></html>",
        encoding="utf-8",
    )
    md = tmp_path / "guide.md"
    md.write_text("# Garden Guide\n\n## Watering\n\nWater tomatoes every morning.\n", encoding="utf-8")
    pdf = tmp_path / "memo.pdf"
    pdf.write_bytes(_pdf_bytes(["Budget Memo", "The budget for the bridge is 40 million dollars."]))
    idx = Index(tmp_path / "index")
    assert idx.add_file(html) == "page-one"
    assert idx.add_file(md) == "guide"
    assert idx.add_file(pdf) == "memo"
    page = idx.document("page-one")
    assert page.title == "Harbour News" and "TOPSECRET" not in page.text and "Home | About" not in page.text
    assert idx.document("guide").title == "Garden Guide"
    ans = idx.answer("When did the harbour open?")
    assert ans.found and "May 2019" in ans.text and ans.citations[0].doc_id == "page-one"
    assert "morning" in idx.answer("How often should tomatoes be watered?").text
    ans = idx.answer("What is the budget for the bridge?")
    assert "40 million" in ans.text
    memo = idx.document("memo")
    assert ans.citations[0].quote == memo.text[ans.citations[0].start : ans.citations[0].end]


def test_top_level_answer_builds_the_default_index(tmp_path, monkeypatch):
    import askdoc.library as library

    monkeypatch.setenv("ASKDOC_INDEX_DIR", str(tmp_path / "default"))
    monkeypatch.setattr(library, "_DEFAULT", None)
    ans = askdoc.answer("Who is the chairman of NAM?", k=3)
    assert ans.found and "Ilham Aliyev" in ans.text
    assert len(ans.passages) == 3
    assert [d.doc_id for d in askdoc.default_index().documents()] == [ARTICLE.stem]
    assert (tmp_path / "default" / "chroma.sqlite3").exists()
