"""What the chat shows, built from records without a browser: citations per sentence,
Markdown for Copy, documents without their markup, passages cut at words, confidence."""

from __future__ import annotations

import re

import pytest

from askdoc import chatview
from askdoc.records import Answer, Citation, Document, Passage

TEXT = "# Brightwater Tea\n\n## Founding\n\nBrightwater sells **green** tea. It was founded by Ana Ruiz in 2009.\n"
DOC = Document("bw", TEXT, "Brightwater Tea", source="/docs/brightwater.md", author="Lee Park")


def _cite(sentence: str, exact: str | None = None) -> Citation:
    start = TEXT.index(sentence)
    a = TEXT.index(exact, start) if exact else None
    return Citation("bw", DOC.title, DOC.source, start, start + len(sentence), sentence, 0.9,
                    a, a + len(exact) if exact else None)  # fmt: skip


TWO = [_cite("Brightwater sells **green** tea."), _cite("It was founded by Ana Ruiz in 2009.", "Ana Ruiz")]
FOUND = Answer("Who founded Brightwater?", True, TEXT[TWO[0].start : TWO[1].end], 0.62, TWO,
               [Passage("bw", DOC.title, DOC.source, 32, len(TEXT), TEXT[32:], 0.5)], exact="Ana Ruiz")  # fmt: skip


def doc(doc_id: str) -> Document:
    assert doc_id == "bw"
    return DOC


def test_each_quoted_sentence_is_followed_by_its_own_citation_number():
    html = chatview.reply_html(3, FOUND, doc)
    quote = re.search(r"<blockquote.*?</blockquote>", html).group(0)
    assert quote.index("green") < quote.index("#ev-3-1") < quote.index("<b>Ana Ruiz</b>") < quote.index("#ev-3-2")
    assert "**" not in quote  # Markdown markup is not shown ...
    assert "line 5, chars" in html  # ... while positions are the source's


def test_copy_is_markdown_with_quote_citations_and_source():
    md = chatview.reply_markdown(FOUND, doc)
    assert md.splitlines()[0] == "> “Brightwater sells **green** tea. [1] It was founded by **Ana Ruiz** in 2009. [2]”"
    assert "[2] *Brightwater Tea* (`bw`), line 5, chars" in md
    assert "/docs/" not in md  # the title and document id, never a path of the server's
    hidden = re.search(r"<span class='askdoc-md' hidden>(.*?)</span>", chatview.reply_html(1, FOUND, doc)).group(1)
    assert "<" not in hidden and "*" not in hidden and "\n" not in hidden  # inert to HTML and Markdown


def test_not_found_is_one_line_with_the_closest_folded_and_no_confidence():
    html = chatview.reply_html(1, Answer("q", False, "", 0.05, [], FOUND.passages), doc)
    assert html.startswith("<div class='askdoc-none'><b>The documents don't say.</b><span class='askdoc-feedback'")
    assert "</div><details class='askdoc-closest'>" in html
    assert "confidence" not in html


def test_markdown_is_shown_without_markup_only_for_markdown_documents():
    assert chatview.shown("## Founding\n**bold** `code` [site](http://x)", True) == "Founding\nbold code site"
    assert chatview.shown("## 5 ** 2", False) == "## 5 ** 2"


@pytest.mark.parametrize(("lo", "hi"), [(3, 60), (0, 61), (7, 59)])
def test_passages_are_cut_at_words(lo, hi):
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
    start, end = text.index("delta"), text.index("delta") + 5
    a, b = chatview.word_window(text, lo, hi, start, end)
    assert a <= start and end <= b
    assert a == 0 or text[a - 1] == " "
    assert b == len(text) or text[b] == " "


def test_evidence_marks_the_sentence_and_links_the_whole_document():
    html = chatview.evidence_html(2, FOUND, doc)
    assert "id='ev-2-1'" in html and "id='ev-2-2'" in html
    assert "<mark>It was founded by <b>Ana Ruiz</b> in 2009.</mark>" in html
    assert f"data-target='bw:{TWO[0].start}:{TWO[0].end}'" in html
    assert "score" not in html


def test_the_document_view_marks_the_place_and_names_the_author():
    html = chatview.document_html(DOC, TWO[1].start, TWO[1].end)
    assert "by Lee Park" in html and "id='askdoc-doc-mark'" in html and "#" not in html.split("</p>", 1)[1]


def test_confidence_labels_follow_one_scale():
    labels = [chatview.confidence_band(c)[0] for c in (0.0, 0.29, 0.3, 0.49, 0.5, 0.99)]
    assert labels == ["low", "low", "medium", "medium", "high", "high"]
    precisions = [chatview.confidence_band(c)[1] for c in (0.1, 0.4, 0.7)]
    assert precisions == sorted(precisions)  # a higher label was right more often


def test_the_header_says_what_is_loaded():
    loaded = "<p class='askdoc-loaded'>1 document: <i>Brightwater Tea</i>, by Lee Park</p>"
    assert chatview.header_html([DOC]) == loaded
    assert "No documents yet" in chatview.header_html([])


def test_a_reply_from_one_document_says_so():
    assert "Searched only <i>Brightwater Tea</i>." in chatview.reply_html(1, FOUND, doc, scope=DOC.title)
    assert "Searched only" not in chatview.reply_html(1, FOUND, doc)


def test_a_rewritten_follow_up_says_how_it_was_read():
    from dataclasses import replace

    follow = replace(FOUND, question="When was it?", resolved_question="When was the tea first planted?")
    html = chatview.reply_html(2, follow, doc)
    assert "<p class='askdoc-reading'>Reading this as: <i>When was the tea first planted?</i></p>" in html
    assert html.index("askdoc-reading") < html.index("askdoc-quote")  # above the quote
    assert chatview.reply_markdown(follow, doc).startswith("*Reading this as: When was the tea first planted?*\n\n> “")
    assert "askdoc-reading" not in chatview.reply_html(1, FOUND, doc)
    abstained = replace(follow, found=False, text="", citations=[])
    assert "Reading this as" in chatview.reply_html(3, abstained, doc)


def test_a_pdf_is_cited_by_page():
    text = "Budget Memo\nThe budget is 40 million.\n\f\nKeepers\nThe bridge opens in 2030."
    pdf = Document("memo", text, "Budget Memo", source="/x/memo.pdf")
    start = text.index("The bridge")
    assert chatview.located(pdf, start, len(text)) == f"p. 2, chars {start}–{len(text)}"
    assert chatview.located(pdf, 12, 20).startswith("p. 1, ")
    assert "\f" not in chatview.shown(text, False)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("there are no documents in the index", "There are no documents yet."),
        ("the question has no words", "Please ask a question in words"),
        ("the question names nothing to look for", "Please ask a question that names what to look for"),
        ("the question is not in English", "askdoc reads questions in English."),
    ],
)
def test_a_question_that_cannot_be_answered_says_why(reason, said):
    html = chatview.reply_html(1, Answer("q", False, "", 0.0, [], FOUND.passages, reason), doc)
    assert said in html and "The documents don't say" not in html and "Closest passages" not in html
    assert said.split("<")[0] in chatview.reply_markdown(Answer("q", False, "", 0.0, [], [], reason), doc)


def test_the_confidence_explanation_folds_out_and_the_closest_passages_have_no_markup():
    conf = chatview.confidence_html(0.7)
    assert conf.startswith("<details class='askdoc-conf'><summary>") and "title=" not in conf
    assert "adversarial" not in conf and "SQuAD" not in conf
    html = chatview.reply_html(1, Answer("q", False, "", 0.05, [], FOUND.passages), doc)
    closest = re.search(r"<ol>(.*)</ol>", html).group(1)
    assert "**" not in closest and "##" not in closest and "green tea" in closest


def test_a_reply_carries_its_feedback_case_inert():
    html = chatview.reply_html(1, FOUND, doc)
    case = re.search(r"<span class='askdoc-case' hidden>(.*?)</span>", html).group(1)
    assert "<" not in case and "*" not in case
    import json
    from html import unescape

    said = json.loads(unescape(case))
    assert said["question"] == "Who founded Brightwater?" and said["citations"][1]["quote"] == TWO[1].quote


def test_remove_buttons_name_their_document():
    assert "aria-label='Remove Brightwater Tea'" in chatview.documents_html([DOC])
