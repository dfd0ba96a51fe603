"""Follow-up questions through the API: `Index.answer(..., history=...)` with the real model."""

from __future__ import annotations

import pytest

from askdoc import dialogues
from askdoc import evaluate as ev
from askdoc.errors import QuestionError


def test_a_pronoun_follow_up_is_read_against_the_previous_turn(article_index, article_text):
    first = article_index.answer("What is the Non-Aligned Movement?")
    ans = article_index.answer("When was it established?", history=[("What is the Non-Aligned Movement?", first)])
    assert ans.question == "When was it established?"
    assert ans.resolved_question == "When was the Non-Aligned Movement established?"
    assert ans.found and "1961" in ans.text
    for c in ans.citations:
        assert article_text[c.start : c.end] == c.quote


def test_history_may_be_bare_questions(article_index):
    ans = article_index.answer("Why?", history=["What did President Aliyev oppose?"])
    assert ans.resolved_question.startswith("Why did President Aliyev oppose")
    assert ans.found and "accessibility" in ans.text


def test_a_self_contained_question_is_answered_exactly_as_alone(article_index):
    history = ["When was NAM established?", "How many member states does it have?"]
    alone = article_index.answer("Who wrote the article?")
    after = article_index.answer("Who wrote the article?", history=history)
    assert after.resolved_question == ""
    assert (after.found, after.text, after.citations, after.confidence) == (
        alone.found, alone.text, alone.citations, alone.confidence,
    )  # fmt: skip


def test_an_unanswerable_follow_up_still_abstains(article_index):
    prev = article_index.answer("Who chairs NAM?")
    ans = article_index.answer("Where was he born?", history=[("Who chairs NAM?", prev)])
    assert not ans.found and ans.text == ""


def test_a_doubtful_reading_that_only_draws_the_last_quote_again_abstains(article_index):
    # "that region" reads as "the South Caucasus region", which draws the sentence just quoted:
    # it says nothing of countries, and asked as typed the question draws that sentence again.
    first = "In which region has Azerbaijan promoted regional cooperation?"
    prev = article_index.answer(first)
    assert prev.found and "South Caucasus" in prev.text
    ans = article_index.answer("Which countries belong to that region?", history=[(first, prev)])
    assert not ans.found and ans.text == "" and ans.citations == []


def test_history_as_one_string_is_an_error(article_index):
    with pytest.raises(QuestionError, match="history"):
        article_index.answer("Why?", history="What did President Aliyev oppose?")


def test_dialogue_set_is_well_formed():
    doc, talks = dialogues.load_dialogue_set(ev.default_dialogue_path())
    assert len(talks) >= 40
    turns = [q for d in talks for q in d.turns]
    kinds = {q.kind for q in turns}
    assert {"first", "follow_up", "topic_change", "unanswerable"} <= kinds
    assert all(d.turns[0].kind == "first" for d in talks)
    assert sum(q.kind == "unanswerable" for q in turns) >= 20
    forms = {f for d in talks for f in d.forms}
    assert {"pronoun", "ellipsis", "why", "such_as"} <= forms
    for q in turns:  # load_dialogues checks every span against the text
        assert q.answerable == bool(q.spans)


def test_a_dialogue_gold_span_must_hold_its_answer(tmp_path):
    import json

    from askdoc.errors import DataSetError

    doc = ev.EvalDoc("d", "T", "The sky is blue.")
    path = tmp_path / "d.jsonl"
    turn = {"question": "What colour?", "kind": "first", "answerable": True, "answer": "blue", "start": 0, "end": 4}
    path.write_text(json.dumps({"id": "x", "turns": [turn]}) + "\n", encoding="utf-8")
    with pytest.raises(DataSetError, match="does not hold"):
        dialogues.load_dialogues(path, doc)


def test_the_conversation_bar_compares_kinds():
    kinds = {
        "first": {"hit@1": 0.9}, "follow_up": {"hit@1": 0.86}, "topic_change": {"hit@1": 0.8},
        "topic_change_alone": {"hit@1": 0.85}, "overall": {"stale": 0.02}, "unanswerable": {"abstention_recall": 0.7},
    }  # fmt: skip
    met = {label: ok for label, _, _, ok in dialogues.conversation_bar(kinds)}
    assert met == {
        "follow-up hit@1 within 0.05 of first turns": True,
        "topic changes no worse than alone": False,
        "stale answers at most 0.05": True,
        "unanswerable follow-ups abstain at least 0.80": False,
    }


def test_the_answer_endpoint_takes_a_history_as_json(article_index):
    from askdoc.chatapp import ChatApp

    app = ChatApp(article_index)
    first = app.api_answer("What is the Non-Aligned Movement?")
    data = app.api_answer("When was it established?", history=[{"question": first["question"], "answer": first}])
    assert data["resolved_question"] == "When was the Non-Aligned Movement established?" and "1961" in data["text"]
    assert app.api_answer("When was it established?", history=["What is the Non-Aligned Movement?"])["found"]
    assert app.api_answer("When was NAM established?")["resolved_question"] == ""
    assert "history" in app.api_answer("Why?", history="not a list")["error"]
