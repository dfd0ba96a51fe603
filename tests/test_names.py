"""Names a document defines ("Non-Aligned Movement (NAM)") mean one thing, and a document's
own byline, title and date lines answer questions about the document."""

from __future__ import annotations

import pytest

from askdoc.cues import asked_field
from askdoc.ingest import field_span, make_document
from askdoc.names import Aliases, find_aliases


def test_definitions_are_found_in_both_orders_and_only_where_letters_spell_them():
    text = (
        "The United Nations Educational, Scientific and Cultural Organization (UNESCO) met. Later, UNESCO said so. "
        "The NHS (National Health Service) is big. Baku (Azerbaijan) in (2019). A recent paper (AP) said. "
        "He said (WHO) nothing."
    )
    got = {a.short: a.long for a in find_aliases(text)}
    assert got == {
        "UNESCO": "United Nations Educational, Scientific and Cultural Organization",
        "NHS": "National Health Service",
    }


def test_questions_are_read_in_the_form_the_document_uses_most(article_text):
    aliases = {a.short: a for a in find_aliases(article_text)}
    assert aliases["NAM"].long == "Non-Aligned Movement" and aliases["NAM"].usual == "NAM"
    # The article says "World Health Organization" twice and "WHO" once, in its definition.
    assert aliases["WHO"].usual == "World Health Organization"
    read = Aliases(aliases.values()).read
    assert read("When was the Non-Aligned Movement established?") == "When was NAM established?"
    assert read("Who chairs the non aligned movement?") == "Who chairs NAM?"
    assert read("What did the WHO use?") == "What did the World Health Organization use?"
    assert read("What does NAM stand for?") == "What does NAM stand for?"  # asks about the name itself
    assert read("Who said who won?") == "Who said who won?"  # the word, not the abbreviation


def test_documents_defining_one_abbreviation_differently_leave_it_alone():
    one = find_aliases("The Animal Health Board (AHB) met. AHB said.")
    two = find_aliases("The Allied Harbour Board (AHB) met. AHB said.")
    asked = "What did the Animal Health Board say?"
    assert Aliases([*one, *two]).read(asked) == asked
    assert Aliases(one).read(asked) == "What did AHB say?"


@pytest.mark.parametrize(
    ("acronym", "full"),
    [
        ("When was NAM established?", "When was the Non-Aligned Movement established?"),
        ("How many member states does NAM have?", "How many member states does the Non-Aligned Movement have?"),
        ("What did NAM demand?", "What did the Non-Aligned Movement demand?"),
        ("Who chairs NAM?", "Who chairs the Non-Aligned Movement?"),
    ],
)
def test_the_full_name_and_the_acronym_get_the_same_answer(article_index, acronym, full):
    a, b = article_index.answer(acronym), article_index.answer(full)
    assert a.found and b.found
    assert (a.text, a.exact, a.confidence) == (b.text, b.exact, b.confidence)
    assert b.question == full  # the answer says what was asked, as asked


def test_aliases_survive_the_store(article_index):
    doc = article_index.document("azerbaijan-leads-nam")
    assert {a.short for a in doc.aliases} >= {"NAM", "WHO"}


def test_questions_about_the_document_itself():
    assert asked_field("Who wrote the article?") == "author"
    assert asked_field("By whom was it written?") == "author"
    assert asked_field("What is the title of the article?") == "title"
    assert asked_field("When was the article published?") == "date"
    assert asked_field("Who wrote the letter to the UN?") == ""  # about the content
    assert asked_field("What is the author's role?") == ""


def test_the_byline_line_answers_who_wrote_it(article_index, article_text):
    ans = article_index.answer("Who wrote the article?")
    assert ans.found and ans.exact == "Muhammad Asif Noor" and ans.text == "Author: Muhammad Asif Noor"
    c = ans.citations[0]
    assert article_text[c.start : c.end] == c.quote and article_text[c.answer_start : c.answer_end] == ans.exact
    title = article_index.answer("What is the title of the article?")
    assert title.exact == "Azerbaijan Leads Non-Aligned Movement"


def test_a_date_line_answers_when_it_was_published_and_none_means_the_text_decides():
    doc = make_document("Harbour news\nPublished: 3 March 2024\n\nThe pier opened in 1890.\n", doc_id="h")
    line, value = field_span(doc.text, doc.title, "date")
    assert doc.text[value.start : value.end] == "3 March 2024"
    assert doc.text[line.start : line.end] == "Published: 3 March 2024"
    assert field_span("Harbour news\nDate: tomorrow-ish\n", "Harbour news", "date") is None  # no date in it
    assert field_span("Harbour news\n\nThe pier opened.", "Harbour news", "author") is None


def test_a_pronoun_is_no_answer_the_person_it_stands_for_is(article_index, article_text):
    ans = article_index.answer(
        "Who suggested establishing a high-level United Nations panel on Global Recovery from Covid-19?"
    )
    assert ans.found and ans.exact == "President Aliyev"
    named = [c for c in ans.citations if c.answer_start is not None]
    assert len(named) == 1 and article_text[named[0].answer_start : named[0].answer_end] == "President Aliyev"
    # Both the sentence that names him and the one that answers are quoted, in document order.
    assert ans.citations[-1].quote.startswith("He suggested establishing")
    assert [c.start for c in ans.citations] == sorted(c.start for c in ans.citations)
    assert all(article_text[c.start : c.end] == c.quote for c in ans.citations)
    assert ans.text == article_text[ans.citations[0].start : ans.citations[-1].end]


def test_the_antecedent_is_a_person_not_an_organisation():
    from askdoc.names import antecedent

    text = "Dr Mary Seacole joined the World Health Organization in 1950. She led its nursing unit."
    span = antecedent(text, text.index("She"))
    assert text[span.start : span.end] == "Dr Mary Seacole"
    assert antecedent("The World Health Organization met. He spoke.", 35) is None
