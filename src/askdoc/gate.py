"""The quality gate: eval figures against the committed baseline (`eval/baseline.json`).

`askdoc eval` exits 1 when a gated metric fell more than the tolerance below its
baseline (rose, for the ones where lower is better); latency is reported, never gated.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import DataSetError

#: A metric may fall this much below the baseline before the gate fails.
DEFAULT_TOLERANCE = 0.02
#: Metrics where lower is better (the gate checks rises instead of drops).
LOWER_IS_BETTER = ("false_abstention", "stale", "latency_p50_ms", "latency_p95_ms")
#: Latency is reported, never gated: these machines are shared and noisy.
NOT_GATED = ("latency_p50_ms", "latency_p95_ms", "questions", "answerable", "unanswerable")
#: Metrics measured over the unanswerable questions, and over all (the rest are over the answerable).
_OVER_UNANSWERABLE = ("abstention_recall", "no_ans_accuracy")
_OVER_ALL = ("abstention_precision", "answer_or_abstain")


def regressions(
    metrics: dict[str, dict[str, dict[str, float]]],
    baseline: dict[str, dict[str, dict[str, float]]],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[str]:
    """Every gated metric that fell more than ``tolerance`` below its baseline, or more
    than one question's worth where a kind has few questions.

    One question is noise, not a regression: the reader's int8 kernels differ between
    CPUs (AVX2 on one machine, AVX-512 on another), and the same code gave the article's
    paraphrase hit@1 0.529 on one and 0.588 (1 of 17 more) on the other.
    """
    dropped = []
    for set_name, kinds in baseline.items():
        for kind, figures in kinds.items():
            now_kind = metrics.get(set_name, {}).get(kind, {})
            for metric, base in figures.items():
                if metric in NOT_GATED:
                    continue
                now = now_kind.get(metric)
                if now is None:
                    continue
                over = "unanswerable" if metric in _OVER_UNANSWERABLE else "answerable"
                count = "questions" if metric in _OVER_ALL else over
                allowed = max(tolerance, 1.0 / now_kind[count]) if now_kind.get(count) else tolerance
                worse = now - base if metric in LOWER_IS_BETTER else base - now
                if worse > allowed + 1e-9:
                    dropped.append(f"{set_name}/{kind}/{metric}: {now:.4f} (baseline {base:.4f})")
    return dropped


def read_baseline(path: str | Path) -> dict | None:
    p = Path(path)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataSetError(f"{p}: not a readable baseline ({exc})") from None


def update_baseline(path: str | Path, metrics: dict) -> None:
    """Store these sets' figures, keeping the other sets already in the file."""
    data = read_baseline(path) or {}
    for name, kinds in metrics.items():
        data[name] = {kind: {k: v for k, v in m.items() if k not in NOT_GATED} for kind, m in kinds.items()}
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
