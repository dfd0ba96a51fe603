"""Answer types and soft word matching: what lifts whole kinds of question."""

from __future__ import annotations

import numpy as np
import pytest

from askdoc import embed
from askdoc.cues import Synonyms, answer_cue, counted_words, cue_hit


def hits(question: str, sentence: str) -> bool:
    cue = answer_cue(question)
    assert cue is not None and cue.strong, question
    return cue_hit(cue, sentence, question.lower())


def test_an_exact_date_needs_the_day():
    q = "What was the exact date of the summit?"
    assert hits(q, "The summit opened on May 3, 2021.")
    assert hits(q, "It met on the 3rd of March.")
    assert not hits(q, "The summit was held in 2021.")


def test_what_year_needs_a_year():
    assert hits("In what year was the movement founded?", "Established in 1961, it has 120 members.")
    assert not hits("In what year was the movement founded?", "It was founded in the spring.")


def test_may_the_verb_is_no_month():
    assert not hits("When did the talks begin?", "The talks may begin soon.")
    assert hits("When did the talks begin?", "The talks began in May.")


def test_digits_inside_names_are_no_quantity():
    q = "How many days did the summit last?"
    assert not hits(q, "It discussed the COVID-19 pandemic with the G20.")
    assert hits(q, "It lasted three days.")
    assert hits(q, "It drew 70 leaders.")


def test_quantity_nouns_and_contact_details_want_their_form():
    assert hits("What is the population of Azerbaijan?", "About 10 million people live there.")
    assert not hits("What is the budget of the network?", "The network was set up to build inclusivity.")
    assert hits("What is the author's email address?", "Write to noor@example.org for details.")
    assert not hits("What is the author's email address?", "Author: Muhammad Asif Noor")


def test_counted_words():
    assert counted_words("Roughly how many national leaders showed up?") == ["national", "leaders"]
    assert counted_words("What is the population of Azerbaijan?") == ["population"]
    assert counted_words("What is the name of the venue?") == []


def test_word_vectors_match_synonyms(embedder):
    v = embedder.word_vectors(["founded", "established", "pandemic", "gathering", "meeting"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-2)
    assert v[0] @ v[1] > 0.4 > v[0] @ v[2]
    assert v[3] @ v[4] > v[3] @ v[2] + 0.2
    syn = Synonyms(["founded"], ["Established in 1961, NAM has 120 members."], embedder.word_vectors)
    best = syn.best(["Established in 1961, NAM has 120 members.", "", "a sentence the matcher never saw"])
    assert best.shape == (3, 1)
    assert best[0, 0] > 0.4 and best[1, 0] == 0.0 and best[2, 0] == 0.0


def test_word_vector_cache_starts_over_when_full(monkeypatch):
    e = embed.Embedder()
    monkeypatch.setattr(embed, "WORD_CACHE", 4)
    first = e.word_vectors(["alpha", "beta", "gamma"])
    again = e.word_vectors(["delta", "epsilon", "alpha"])  # overflows: the cache starts over
    assert np.allclose(first[0], again[2], atol=1e-3)
    assert np.allclose(again, e._static_vectors(["delta", "epsilon", "alpha"]), atol=1e-3)
    assert len(e.word_vectors([f"w{i}" for i in range(10)])) == 10  # more than the cache holds


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("When did Azerbaijan assume the NAM presidency?", "2019"),
        # "national leaders" / "heads of state": the number sentence wins over likelier ones without one.
        ("Roughly how many national leaders showed up?", "nearly 70 heads of state"),
    ],
)
def test_typed_and_paraphrased_questions_quote_the_answer(article_index, question, gold):
    ans = article_index.answer(question)
    assert ans.found and gold in ans.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the population of Azerbaijan?",
        "What was the exact date of the summit?",
        "What is the author's email address?",
    ],
)
def test_typed_questions_the_article_cannot_answer_abstain(article_index, question):
    assert not article_index.answer(question).found
