"""Feedback on answers: a vote in the chat becomes an eval case.

Each vote is one JSON line in ``<index>/feedback.jsonl``, in the format of
``eval/article.jsonl`` (id, question, kind, answerable, answer, start, end) with the gold
left empty, plus what askdoc answered, so that one edit (the gold answer and its span, or
``"answerable": false``) turns a complaint into a test. ``askdoc feedback export`` writes
the "not helpful" ones (or all) as such a set.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError, QuestionError

FILE = "feedback.jsonl"
VOTES = ("up", "down")
#: A vote's case as the browser sends it back is bounded: citations and characters.
MAX_CITATIONS = 10
MAX_CASE_CHARS = 50_000

_WRITE_LOCK = threading.Lock()


@dataclass(frozen=True)
class FeedbackCase:
    """One vote, as a line of ``feedback.jsonl``: an eval record whose gold is still empty."""

    id: str
    question: str
    vote: str
    doc_id: str
    kind: str = "feedback"
    answerable: bool = True
    answer: str = ""
    start: int | None = None
    end: int | None = None
    #: What askdoc said: how it read the question, its quote, short answer and citations.
    askdoc: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def case_from(vote: str, said: object) -> FeedbackCase:
    """A case from a vote and the answer's record (`chatview.feedback_case`), checked: it
    comes back from the browser, so anything malformed is a `QuestionError`, never written."""
    if vote not in VOTES:
        raise QuestionError(f"a vote is 'up' or 'down', not {vote!r}")
    if not isinstance(said, dict) or not isinstance(said.get("question"), str) or not said["question"].strip():
        raise QuestionError("the vote names no question")
    if len(json.dumps(said)) > MAX_CASE_CHARS:
        raise QuestionError("the vote's answer record is too long")
    cites = said.get("citations") or []
    if not isinstance(cites, list) or len(cites) > MAX_CITATIONS:
        raise QuestionError("the vote's citations are not a short list")
    kept = []
    for c in cites:
        if not (
            isinstance(c, dict)
            and isinstance(c.get("doc_id"), str)
            and all(type(c.get(k)) is int for k in ("start", "end"))
            and isinstance(c.get("quote"), str)
        ):
            raise QuestionError("a citation of the vote is malformed")
        kept.append({k: c[k] for k in ("doc_id", "title", "start", "end", "quote") if k in c})
    askdoc = {k: said[k] for k in ("resolved_question", "found", "text", "exact") if k in said}
    askdoc["citations"] = kept
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return FeedbackCase(
        id=f"fb-{stamp}-{time.monotonic_ns() % 100_000:05d}",
        question=said["question"],
        vote=vote,
        doc_id=kept[0]["doc_id"] if kept else "",
        askdoc=askdoc,
    )


def record(index_dir: Path, case: FeedbackCase) -> Path:
    """Append ``case`` to the index folder's feedback file; returns its path."""
    path = Path(index_dir) / FILE
    line = json.dumps(case.to_dict(), ensure_ascii=False) + "\n"
    with _WRITE_LOCK, open(path, "a", encoding="utf-8") as out:  # one whole line per vote
        out.write(line)
    return path


def read(index_dir: Path) -> list[dict]:
    """Every recorded vote, oldest first."""
    from .evaluate import jsonl_records

    path = Path(index_dir) / FILE
    if not path.is_file():
        return []
    return [rec for _, rec in jsonl_records(path)]


def export(index_dir: Path, out: Path | None, votes: tuple[str, ...] = ("down",)) -> tuple[int, str]:
    """The recorded cases with one of ``votes`` as eval records (``out``, or the text itself
    when ``out`` is None); returns (how many, the text)."""
    cases = [c for c in read(index_dir) if c.get("vote") in votes]
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    if out is not None:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return len(cases), text
