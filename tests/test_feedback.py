"""Votes on answers become eval cases (`askdoc.feedback`), and `askdoc feedback export`."""

from __future__ import annotations

import json

import pytest

from askdoc import chatview, feedback
from askdoc.errors import QuestionError
from askdoc.records import Answer, Citation

from .conftest import run_cli

CITE = Citation("memo", "Budget Memo", "/tmp/x/memo.pdf", 12, 40, "The budget is 40 million dollars.", 0.8, 26, 36)
ANSWER = Answer("What is the budget?", True, CITE.quote, 0.6, [CITE], [], exact="40 million")


def test_a_vote_is_an_eval_case_with_the_gold_left_empty(tmp_path):
    path = feedback.record(tmp_path, feedback.case_from("down", chatview.feedback_case(ANSWER)))
    case = json.loads(path.read_text(encoding="utf-8"))
    article = json.loads(open("eval/article.jsonl", encoding="utf-8").readline())
    assert article.keys() <= case.keys()  # eval/article.jsonl's fields, and more
    assert (case["answer"], case["start"], case["end"], case["vote"]) == ("", None, None, "down")
    assert case["question"] == "What is the budget?" and case["doc_id"] == "memo"
    assert case["askdoc"]["citations"][0] == {k: getattr(CITE, k) for k in ("doc_id", "title", "start", "end", "quote")}
    assert "source" not in case["askdoc"]["citations"][0]  # no path of the server's


@pytest.mark.parametrize(
    ("vote", "said"),
    [("sideways", {"question": "q"}), ("down", None), ("down", {"question": ""}),
     ("down", {"question": "q", "citations": [{"doc_id": "a", "start": "1", "end": 2, "quote": ""}]}),
     ("up", {"question": "q", "citations": "many"})],
)  # fmt: skip
def test_a_malformed_vote_is_refused(vote, said):
    with pytest.raises(QuestionError):
        feedback.case_from(vote, said)


def test_export_writes_the_not_helpful_votes(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    for vote in ("down", "up", "down"):
        feedback.record(index, feedback.case_from(vote, chatview.feedback_case(ANSWER)))
    out = tmp_path / "cases.jsonl"
    done = run_cli("feedback", "export", "--out", str(out), "--index-dir", str(index))
    assert done.returncode == 0 and "exported 2 'not helpful' votes" in done.stderr
    assert [json.loads(line)["vote"] for line in out.read_text().splitlines()] == ["down", "down"]
    everything = run_cli("feedback", "export", "--all", "--index-dir", str(index))
    assert len(everything.stdout.splitlines()) == 3
