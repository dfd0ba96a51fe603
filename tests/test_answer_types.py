"""Answer types: what lifts whole kinds of question."""

from __future__ import annotations

import numpy as np
import pytest

from askdoc.cues import answer_cue, cue_hit


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


@pytest.mark.parametrize(
    "q", ["Until when is he chairing it?", "Till when?", "By when did the colonies gain independence?", "Since when?"]
)
def test_a_when_after_a_preposition_still_wants_a_time(q):
    assert hits(q, "He has chaired it since 2019.")
    assert not hits(q, "He chairs the movement through a challenging period.")


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


def test_a_when_question_quotes_the_year(article_index):
    ans = article_index.answer("When did Azerbaijan assume the NAM presidency?")
    assert ans.found and "2019" in ans.text


def test_a_paraphrased_count_leads_with_the_number_sentence(article_index):
    # "national leaders" / "heads of state": the number sentence wins over likelier ones
    # without one. (Its confidence, 0.03, is one of the article's false abstentions.)
    ans = article_index.answer("Roughly how many national leaders showed up?")
    assert "nearly 70 heads of state" in ans.passages[0].text


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


def test_the_confidence_weighs_the_readers_logit_and_has_a_model_without_it():
    from askdoc import scorer
    from askdoc.read import Reading
    from askdoc.records import Span

    x = np.zeros((2, len(scorer.FEATURES)))
    p = np.array([0.4, 0.1])
    text = "Azerbaijan took over the chairmanship in 2019."
    cands = [scorer.Candidate("d", n, Span(0, len(text)), np.zeros(4), 0.0, 1) for n in range(2)]

    def confidence(logit: float | None) -> float:
        readings = None if logit is None else {0: Reading(0.5, logit, 0, 4), 1: Reading(0.1, -6.0, 0, 4)}
        g = scorer.abstain_features("Who chairs it?", 0, cands, {"d": text}, x, p, 0.0, lambda t: 1.0, readings)
        assert len(g) == len(scorer.ABSTAIN_WEIGHTS if readings else scorer.SCORER_ABSTAIN_WEIGHTS)
        return scorer.confidence(g)

    assert confidence(4.0) > confidence(-4.0) + 0.2
    assert 0.0 < confidence(None) < 1.0


def test_without_the_reader_the_scorer_answers_and_abstains(tmp_path):
    from askdoc import Index

    from .conftest import ARTICLE

    idx = Index(tmp_path, reader="off")
    idx.add_file(ARTICLE)
    ans = idx.answer("When did Azerbaijan assume the NAM presidency?")
    assert ans.found and "2019" in ans.text and ans.exact == ""
    assert not idx.answer("Who won the 2018 FIFA World Cup?").found
