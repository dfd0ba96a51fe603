"""askdoc.resolve: follow-up questions read against the conversation so far (pure: no model)."""

from __future__ import annotations

import numpy as np
import pytest

from askdoc.answering import near_previous
from askdoc.records import Answer, Citation, Passage, Span
from askdoc.resolve import previous_quote, resolve, speaks_to
from askdoc.scorer import Candidate


def _answer(question: str, text: str, exact: str) -> Answer:
    start = 1000
    cite = Citation("a", "T", None, start, start + len(text), text, 0.9)
    return Answer(question, True, text, 0.8, [cite], exact=exact)


@pytest.mark.parametrize(
    "question",
    ["Who wrote the article?", "What does NAM stand for?", "How many heads of state attended the Baku meeting?"],
)
def test_a_self_contained_question_is_read_as_typed(question):
    history = ["When was NAM established?", "Who chairs it?"]
    r = resolve(question, history)
    assert r.question == question and r.rule == ""


def test_without_history_nothing_is_rewritten():
    assert resolve("When was it founded?").question == "When was it founded?"
    assert resolve("Why?", []).rule == ""


def test_it_takes_the_previous_question_s_topic():
    r = resolve("When was it established?", ["What is the Non-Aligned Movement?"])
    assert r.question == "When was the Non-Aligned Movement established?" and r.rule == "pronoun"


def test_he_takes_the_person_the_previous_answer_named():
    prev = _answer(
        "Who chairs NAM?", "President of Azerbaijan Ilham Aliyev, Chairman of NAM, chaired it.", "Ilham Aliyev"
    )
    r = resolve("What did he call for in 2020?", [("Who chairs NAM?", prev)])
    assert r.question == "What did Ilham Aliyev call for in 2020?"


def test_it_in_the_answer_s_place_takes_the_answer():
    prev = _answer(
        "What did the World Health Organization use?",
        "The database compiled by NAM was later utilized by the World Health Organization.",
        "The database compiled by NAM",
    )
    r = resolve("What was it aimed at?", [("What did the World Health Organization use?", prev)])
    assert r.question == "What was the database compiled by NAM aimed at?"


def test_a_pronoun_bound_inside_the_question_is_left_alone():
    r = resolve("What did Azerbaijan do for its members?", ["When was NAM established?"])
    assert r.rule == ""


def test_then_and_that_region():
    prev = _answer("When did Azerbaijan assume the presidency?", "Azerbaijan assumed its presidency in 2019.", "2019")
    r = resolve("What was happening in the world then?", [("When did Azerbaijan assume the presidency?", prev)])
    assert r.question == "What was happening in the world in 2019?"
    prev = _answer(
        "Where?", "It promoted stability, particularly in the South Caucasus region.", "the South Caucasus region"
    )
    r = resolve("Which countries are in that region?", [("In which region has Azerbaijan promoted cooperation?", prev)])
    assert r.question == "Which countries are in the South Caucasus region?"


def test_a_bare_when_or_why_takes_the_previous_question_s_predicate():
    r = resolve("When?", ["Why did NAM lose some of its importance?"])
    assert r.question == "When did NAM lose some of its importance?" and r.rule == "ellipsis"
    prev = _answer(
        "What did President Aliyev oppose?",
        "Aliyev opposed the nationalization of supplies.",
        "the nationalization of supplies",
    )
    r = resolve("Why?", [("What did President Aliyev oppose?", prev)])
    assert r.question == "Why did President Aliyev oppose the nationalization of supplies?"


def test_a_trailing_fragment_follows_the_previous_statement():
    prev = _answer(
        "What did the NAM Summit in Baku provide?",
        "NAM Summit in Baku provided an important platform for member states.",
        "an important platform for member states",
    )
    r = resolve("To discuss what?", [("What did the NAM Summit in Baku provide?", prev)])
    assert r.question == "The NAM Summit in Baku provided an important platform for member states, to discuss what?"


def test_a_chain_of_bare_questions_is_resolved_in_order():
    r = resolve("How many member states does it have?", ["What is NAM?", "When was it established?"])
    assert r.question == "How many member states does NAM have?"


def test_speaks_to_needs_a_typed_word_in_the_quote():
    assert not speaks_to("Where was he born?", "President Aliyev chaired this important meeting.")
    assert speaks_to("What did he suggest?", "He suggested establishing a panel.")
    assert speaks_to("Why?", "Anything at all.")  # nothing typed but a question word
    assert not speaks_to("Which countries are in that region?", "It acted in the South Caucasus region.")


def test_a_long_history_of_bare_questions_is_read_in_linear_time():
    import time

    history = ["What is NAM?", "When was it established?", "Why?", "Who chairs it?"] * 500
    started = time.perf_counter()
    r = resolve("How many member states does it have?", history)
    assert time.perf_counter() - started < 1.0
    assert r.rule == "pronoun"


def test_previous_quote_is_the_last_answer_s_sentences_and_passage():
    prev = _answer("Who chairs NAM?", "President Aliyev chairs NAM.", "President Aliyev")
    passage = Passage("a", "T", None, 900, 1200, "...", 0.5, chunk_id="a:g:3")
    prev = Answer(prev.question, True, prev.text, 0.8, prev.citations, [passage], exact=prev.exact)
    spans, chunks = previous_quote([("Who chairs NAM?", prev)])
    assert spans == (("a", 1000, 1000 + len(prev.text)),) and chunks == ("a:g:3",)
    # as programs send it (JSON), and nothing from a bare question or an abstention
    assert previous_quote([{"question": "Who chairs NAM?", "answer": prev.to_dict()}]) == (spans, chunks)
    from askdoc.chatapp import turn  # as the browser keeps a turn

    assert previous_quote([turn("Who chairs NAM?", prev)]) == (spans, chunks)
    assert previous_quote(["Who chairs NAM?"]) == ((), ())
    assert previous_quote([("Who chairs NAM?", Answer("Who chairs NAM?", False, "", 0.0))]) == ((), ())


def test_the_previous_answer_s_paragraph_is_favoured_but_not_its_quote():
    text = "One. Two said. Three.\n\nFour. Five."
    spans = [(0, 4), (5, 14), (15, 21), (23, 28), (29, 34)]
    cands = [Candidate("a", n, Span(s, e), np.zeros(1), 0.5, 1) for n, (s, e) in enumerate(spans)]
    got = near_previous(cands, {"a": text}, [("a", 5, 14)])  # "Two said." was the last quote
    assert got.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert near_previous(cands, {"a": text}, [("b", 5, 14)]).tolist() == [0.0] * 5  # another document
    # a quote of two sentences: each is the other's neighbour
    assert near_previous(cands, {"a": text}, [("a", 5, 14), ("a", 15, 21)]).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
