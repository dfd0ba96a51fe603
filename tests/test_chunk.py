"""Sentence splitting and chunking: offsets, sentence integrity, the model's limit."""

from __future__ import annotations

from askdoc.chunk import chunk_document, count_tokens, split_sentences
from askdoc.ingest import make_document


def test_title_and_byline_are_sentences(article_text):
    spans = split_sentences(article_text)
    first = [article_text[s.start : s.end] for s in spans[:3]]
    assert first[0] == "Azerbaijan Leads Non-Aligned Movement"
    assert first[1] == "Author: Muhammad Asif Noor"
    assert first[2].startswith("Azerbaijan hosted a significant summit-level meeting")
    assert first[2].endswith("post-pandemic global recovery.")


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "Dr. Smith met J. R. Doe in the U.S. on Monday. They talked for 2.5 hours. Then they left!"
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == ["Dr. Smith met J. R. Doe in the U.S. on Monday.", "They talked for 2.5 hours.", "Then they left!"]


def test_wrapped_lines_join_but_headings_stand_alone():
    text = "Heading\n\nThis sentence wraps\nonto a second line. Next one.\nA line of its own"
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == ["Heading", "This sentence wraps\nonto a second line.", "Next one.", "A line of its own"]


def test_each_chat_message_is_a_sentence_though_it_starts_in_lower_case():
    text = "maya: ok so are we still on for saturday\njonas: yes!! check-in is 3pm\nlea k: i can drive\n"
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == ["maya: ok so are we still on for saturday", "jonas: yes!! check-in is 3pm", "lea k: i can drive"]
    # A wrapped line that happens to hold a colon still continues its sentence.
    wrapped = "The results were as\nfollows: the pier held.\nand more: it stood."
    assert len(split_sentences(wrapped)) == 1


def test_chunk_offsets_round_trip_and_never_cut_sentences(article_text):
    doc = make_document(article_text, doc_id="a")
    chunks = chunk_document(doc, chunk_tokens=60, overlap_tokens=20)
    assert len(chunks) > 5
    sentence_bounds = {(s.start, s.end) for s in split_sentences(article_text, doc.body_start, doc.body_end)}
    starts = {a for a, _ in sentence_bounds}
    ends = {b for _, b in sentence_bounds}
    for c in chunks:
        assert article_text[c.start : c.end] == c.text
        assert c.start in starts and c.end in ends  # whole sentences only
        assert all((s.start, s.end) in sentence_bounds for s in c.sentences)
        assert c.n_tokens <= 60 or len(c.sentences) == 1
    # Consecutive chunks overlap but always advance.
    assert all(b.start > a.start for a, b in zip(chunks, chunks[1:]))
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_offsets_are_exact_for_crlf_and_non_ascii():
    text = "Título: café\r\n\r\nThe naïve résumé — “quoted” — was filed. Second sentence here.\r\n"
    doc = make_document(text, doc_id="u")
    chunks = chunk_document(doc, chunk_tokens=200, overlap_tokens=0)
    spans = [s for c in chunks for s in c.sentences]
    assert [text[s.start : s.end] for s in spans] == [
        "Título: café",
        "The naïve résumé — “quoted” — was filed.",
        "Second sentence here.",
    ]


def test_page_furniture_is_not_chunked(article_text):
    doc = make_document(article_text, doc_id="a")
    body = article_text[doc.body_start : doc.body_end]
    assert body.endswith("Institute of Peace and Diplomatic Studies).")
    assert "Recent Posts" not in body and "Leave a Comment" not in body
    assert all("Shehbaz" not in c.text for c in chunk_document(doc, 160, 40))


def test_no_chunk_exceeds_the_model_limit(embedder):
    # One huge sentence, one unbroken 'word', and many ordinary sentences.
    long_sentence = " ".join(f"word{i} and (parenthetical {i})" for i in range(400)) + "."
    blob = "x" * 3000
    text = f"Title\n\n{long_sentence}\n\n{blob}\n\n" + " ".join(f"Sentence number {i} is short." for i in range(200))
    doc = make_document(text, doc_id="long")
    limit = embedder.max_tokens
    assert limit == 256
    chunks = chunk_document(doc, 400, 50, limit, embedder.count_tokens)
    counts = embedder.count_tokens([c.text for c in chunks])
    assert max(counts) + 2 <= limit  # +2: [CLS] and [SEP]
    # Nothing is lost: the chunks together cover every word of the text.
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert all(w in covered for w in ("word0", "word399", "Sentence number 199"))


def test_word_pieces_are_counted_whole_even_after_encoding_truncated(embedder):
    """Chunk sizes rest on these counts: a count cut at the model's limit would let a
    chunk through that the model then truncates, losing its end from the vectors."""
    long = " ".join(f"harbour{i}" for i in range(300))
    embedder.encode([long])  # truncates to 256 word pieces
    texts = [long, "A short one.", "naïve café, 1961!"]
    counts = embedder.count_tokens(texts)
    want = [len(ids) for ids in embedder.model.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert counts == want
    assert want[0] > 600


def test_default_chunks_fit_the_model(article_text, embedder):
    from askdoc.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS

    doc = make_document(article_text, doc_id="a")
    chunks = chunk_document(doc, DEFAULT_CHUNK_TOKENS, DEFAULT_CHUNK_OVERLAP, 256, embedder.count_tokens)
    assert max(embedder.count_tokens([c.text for c in chunks])) + 2 <= 256
    assert max(count_tokens([c.text for c in chunks])) <= DEFAULT_CHUNK_TOKENS


def test_no_sentence_is_longer_than_the_limit():
    """A run without sentence ends is cut at whitespace within the limit, a single
    longer "word" hard; the spans stay exact and cover all its text."""
    from askdoc.chunk import MAX_SENTENCE_CHARS

    words = " ".join(f"w{i}" for i in range(2000))  # ~10,000 characters, no full stop
    text = "A title\n\n" + words + " and " + "x" * 5000 + "\n\nLast sentence."
    spans = split_sentences(text)
    pieces = [text[s.start : s.end] for s in spans]
    assert pieces[0] == "A title" and pieces[-1] == "Last sentence."
    assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p == p.strip() for p in pieces)
    assert "".join(pieces[1:-1]).replace(" ", "") == (words + " and " + "x" * 5000).replace(" ", "")
    assert all(p.startswith("w") and p.endswith(tuple("0123456789")) for p in pieces[1:4])  # cut between words
    assert pieces[-3:-1] == ["x" * 2000, "x" * 1000]


def test_a_huge_word_is_never_quoted_whole(fresh_index):
    from askdoc.chunk import MAX_SENTENCE_CHARS

    text = "Omega Notes\n\nThe omega code is " + "Q" * 1_000_000 + ". The omega lab opened in 1977."
    fresh_index.add_text(text, doc_id="omega")
    for question in ("What is the omega code?", "When did the omega lab open?"):
        ans = fresh_index.answer(question)
        for c in ans.citations:
            assert len(c.quote) <= MAX_SENTENCE_CHARS and c.quote == text[c.start : c.end]
        assert len(ans.text) < 3 * MAX_SENTENCE_CHARS
        assert all(len(p.text) < 50_000 for p in ans.passages)


def test_list_markers_are_no_part_of_their_sentences():
    from askdoc.chunk import split_sentences

    text = "Owners:\n- Ingrid Halvorsen runs the bakery.\n* Tomas Reyes bakes.\n2. The shop opens at six.\nA - B is ok."
    got = [text[s.start : s.end] for s in split_sentences(text)]
    assert got == [
        "Owners:", "Ingrid Halvorsen runs the bakery.", "Tomas Reyes bakes.", "The shop opens at six.", "A - B is ok."
    ]  # fmt: skip


def test_headings_are_told_from_sentences():
    from askdoc.chunk import is_heading, split_sentences

    text = "# Rosewell Bakery\n\nRosewell Bakery\nRosewell Bakery was founded in 1921.\n\nmaya: ok\nAuthor: A. Ruiz\n"
    spans = {text[s.start : s.end]: s for s in split_sentences(text)}
    assert is_heading(text, spans["# Rosewell Bakery"]) and is_heading(text, spans["Rosewell Bakery"])
    assert not any(is_heading(text, spans[k]) for k in ("Rosewell Bakery was founded in 1921.", "maya: ok",
                                                          "Author: A. Ruiz"))  # fmt: skip
