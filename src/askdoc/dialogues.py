"""Dialogues: conversations about one document, each turn asked after the ones before it.

A dialogue set (JSONL, one conversation a line: id, turns) asks each turn with the
turns before it and askdoc's own answers to them as history, and reports by kind:
first turns, follow-ups, topic changes (beside the same questions asked alone, kind
``topic_change_alone``) and unanswerable follow-ups, with ``stale``: the share of later
turns given the previous answer again where it does not answer them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import DataSetError
from .evaluate import EvalDoc, EvalQuestion, EvalRun, build_indexes, jsonl_records, score, set_document


@dataclass(frozen=True)
class Dialogue:
    """A conversation about one document: each turn is asked after the ones before it."""

    id: str
    turns: tuple[EvalQuestion, ...]
    forms: tuple[str, ...]


def load_dialogue_set(path: str | Path) -> tuple[EvalDoc, list[Dialogue]]:
    """A JSONL dialogue set and the document it is about (see `askdoc.evaluate.set_document`)."""
    doc = set_document(path)
    return doc, load_dialogues(path, doc)


def load_dialogues(path: str | Path, doc: EvalDoc) -> list[Dialogue]:
    """A JSONL dialogue set about one document; every gold span is checked against its text."""
    out = []
    for n, rec in jsonl_records(path):
        try:
            if not isinstance(rec, dict):
                raise TypeError(f"a {type(rec).__name__}, not an object")
            if "turns" not in rec:
                continue  # the header line naming the document
            turns, forms = [], []
            for i, t in enumerate(rec["turns"], 1):
                answerable = bool(t["answerable"])
                golds = [(t["answer"], int(t["start"]), int(t["end"]))] if answerable else []
                golds += [(a["answer"], int(a["start"]), int(a["end"])) for a in t.get("also", ())]
                for a, st, e in golds:
                    if doc.text[st:e] != a:
                        raise DataSetError(f"{path}:{n}: turn {i}: gold span {st}-{e} does not hold {a!r}")
                answers, spans = tuple(g[0] for g in golds), tuple((g[1], g[2]) for g in golds)
                turns.append(
                    EvalQuestion(f"{rec['id']}.{i}", t["question"], t["kind"], doc.doc_id, answerable, answers, spans)
                )
                forms.append(t.get("form", t["kind"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataSetError(f"{path}:{n}: bad dialogue record ({exc})") from None
        if turns:
            out.append(Dialogue(str(rec["id"]), tuple(turns), tuple(forms)))
    if not out:
        raise DataSetError(f"{path}: no dialogues in it, so nothing to measure")
    return out


def run_dialogues(
    name: str,
    doc: EvalDoc,
    dialogues: Sequence[Dialogue],
    k: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    **index_options: object,
) -> EvalRun:
    """Ask each dialogue's turns in order, each with the turns before it and askdoc's own
    answers to them as history; each topic change is asked alone too."""
    run = EvalRun(name)
    texts = {doc.doc_id: doc.text}
    with tempfile.TemporaryDirectory(prefix="askdoc-eval-") as tmp:
        idx = build_indexes([doc], tmp, **index_options)[doc.doc_id]
        for d in progress(dialogues) if progress else dialogues:
            history: list = []
            for q, form in zip(d.turns, d.forms):
                started = time.perf_counter()
                ans = idx.answer(q.question, k=k, history=history)
                latency = (time.perf_counter() - started) * 1000
                r = score(q, ans, doc.text, latency, texts)
                stale = None
                if history:
                    prev = history[-1][1]
                    stale = bool(ans.found and prev.found and ans.text == prev.text and not r.hit)
                run.results.append(replace(r, form=form, resolved=ans.resolved_question, stale=stale))
                if q.kind == "topic_change":
                    started = time.perf_counter()
                    alone = idx.answer(q.question, k=k)
                    latency = (time.perf_counter() - started) * 1000
                    run.alone.append(replace(score(q, alone, doc.text, latency, texts), kind="topic_change_alone"))
                history.append((q.question, ans))
    return run


#: The conversation bar (issue 24): (what, metric, compared with, the most it may fall short).
CONVERSATION_BAR = (
    ("follow-up hit@1 within 0.05 of first turns", ("follow_up", "hit@1"), ("first", "hit@1"), 0.05),
    ("topic changes no worse than alone", ("topic_change", "hit@1"), ("topic_change_alone", "hit@1"), 0.0),
    ("stale answers at most 0.05", ("overall", "stale"), None, 0.05),
    ("unanswerable follow-ups abstain at least 0.80", ("unanswerable", "abstention_recall"), None, 0.80),
)


def conversation_bar(kinds: dict[str, dict[str, float]]) -> list[tuple[str, float, float, bool]]:
    """Each bar of a dialogue set's metrics: (what, value, limit, met)."""
    out = []
    for label, (kind, metric), against, limit in CONVERSATION_BAR:
        value = kinds.get(kind, {}).get(metric)
        if value is None:
            continue
        if against is not None:
            base = kinds.get(against[0], {}).get(against[1])
            if base is None:
                continue
            out.append((label, value, round(base - limit, 4), value >= base - limit - 1e-9))
        elif metric == "stale":
            out.append((label, value, limit, value <= limit + 1e-9))
        else:
            out.append((label, value, limit, value >= limit - 1e-9))
    return out
