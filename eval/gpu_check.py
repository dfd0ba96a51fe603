"""The GPU check (issue #15): askdoc's embedding and reader stages on one device, no store.

One prepared script for a bare GPU machine (torch, transformers and
sentence-transformers; no chromadb, no gradio, no network). It times, on the
device it finds:

- **indexing, end to end**: document text -> askdoc's chunks and sentences ->
  sentence and pooled chunk vectors in memory (`prepare.document_rows`, the code
  `askdoc index` runs), in chunks/s, beside its parts: splitting, the tokenizer
  alone, and the model's own forward on pre-tokenized, length-sorted batches
  (the ceiling);
- **the reader**: question-sentence pairs/s in large batches, and the p50 of one
  question's read of 6 candidates (what `askdoc ask` does).

The documents are copies of the bundled article, each made distinct. Without
the bundled model package, point ``ASKDOC_MINILM_DIR`` at a folder holding the
model's config and tokenizer (``scripts/gpu_kit.sh`` assembles one); weights it
lacks are drawn at random, which times the same (``random_weights`` says so).

    python eval/gpu_check.py --out DIR [--chunks 100000] [--pairs 50000] [--device auto]

Writes ``gpu_check.json`` and ``gpu_check.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # runs from a checkout, installed or not

#: The bar (issue #15): end-to-end indexing chunks/s and reader pairs/s on one H100/H200.
TARGETS = {"index_chunks_per_s": 20_000, "reader_pairs_per_s": 5_000}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def model_folder(tmp: Path) -> tuple[str, bool]:
    """The MiniLM folder to load, and whether its weights were drawn at random."""
    from askdoc.embed import bundled_model_path

    folder = Path(bundled_model_path())
    if (folder / "model.safetensors").is_file():
        return str(folder), False
    from transformers import BertConfig, BertModel

    made = tmp / "minilm"
    shutil.copytree(folder, made)
    BertModel(BertConfig.from_pretrained(folder)).save_pretrained(made, safe_serialization=True)
    os.environ["ASKDOC_MINILM_DIR"] = str(made)  # the reader takes its word embeddings from here too
    return str(made), True


def documents(chunks_wanted: int, settings, embedder):
    """Copies of the bundled article, each distinct, enough for ``chunks_wanted`` chunks."""
    from askdoc import prepare
    from askdoc.config import DEFAULT_ARTICLE
    from askdoc.ingest import make_document

    text = DEFAULT_ARTICLE.read_text(encoding="utf-8")
    per_copy = len(prepare.split(make_document(text, doc_id="x", title="x"), settings, embedder)[0])
    copies = max(1, -(-chunks_wanted // per_copy))
    return [
        (make_document(f"{text}\n\nThis is copy {i} of the article, kept apart.", doc_id=f"a{i}", title="x"), "")
        for i in range(copies)
    ]


def index_stage(docs, settings, embedder) -> dict:
    """End-to-end indexing beside its parts."""
    import torch

    from askdoc import prepare

    device = embedder.device
    model = embedder.model
    small = docs[: max(1, len(docs) // 50)]
    prepare.document_rows(small, settings, embedder)  # warm: kernels, allocator, tokenizer
    _sync(device)
    t0 = time.perf_counter()
    rows = prepare.document_rows(docs, settings, embedder)
    _sync(device)
    total = time.perf_counter() - t0
    n_chunks = sum(len(r.chunks) for r in rows)
    t0 = time.perf_counter()
    split = [prepare.split(d, settings, embedder) for d, _ in docs]
    split_s = time.perf_counter() - t0
    texts = [d.text[s.start : s.end] for (d, _), (_, _, sentences) in zip(docs, split) for s, _ in sentences]
    t0 = time.perf_counter()
    features = model.tokenizer(texts, padding=True, truncation=True, max_length=embedder.max_tokens,
                               return_tensors="pt")  # fmt: skip
    tokenize_s = time.perf_counter() - t0
    # The ceiling: the model alone on pre-tokenized batches sorted by length, on the device already.
    lengths = features["attention_mask"].sum(1)
    order = torch.argsort(lengths, descending=True)
    batch = 1024 if device.startswith("cuda") else 64
    batches = []
    for i in range(0, len(order), batch):
        rows_i = order[i : i + batch]
        width = int(lengths[rows_i].max())
        batches.append({k: v[rows_i, :width].to(device) for k, v in features.items()})
    _sync(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            model(b)
    _sync(device)
    forward_s = time.perf_counter() - t0
    per_chunk = len(texts) / n_chunks
    return {
        "chunks": n_chunks,
        "sentences": len(texts),
        "seconds": round(total, 3),
        "index_chunks_per_s": round(n_chunks / total, 1),
        "split_chunks_per_s": round(n_chunks / split_s, 1),
        "tokenizer_chunks_per_s": round(len(texts) / tokenize_s / per_chunk, 1),
        "forward_only_chunks_per_s": round(len(texts) / forward_s / per_chunk, 1),
        "batch_size": embedder.batch_size,
        "precision": embedder.precision,
    }


def reader_stage(device: str, pairs: int) -> dict:
    """Pairs/s in large batches, and one question's read of 6 candidates."""
    from askdoc.chunk import split_sentences
    from askdoc.config import DEFAULT_ARTICLE
    from askdoc.read import READ_PIECES, Reader, encode_pairs

    reader = Reader(device=device)
    _ = reader.model  # loaded before the clock starts
    text = DEFAULT_ARTICLE.read_text(encoding="utf-8")
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    previous = [""] + sentences[:-1]
    questions = ["When was NAM established?", "Where was the summit held?", "Who is the chairman of NAM?"]
    batch = 1024 if device.startswith("cuda") else 64
    items = [(questions[i % 3], sentences[i % len(sentences)], previous[i % len(sentences)]) for i in range(pairs)]

    def run(chunk):
        return reader.scores(encode_pairs(reader.tokenizer, *zip(*chunk), tensors="np", max_length=READ_PIECES))

    run(items[:batch])  # warm
    _sync(device)
    t0 = time.perf_counter()
    for i in range(0, len(items), batch):
        run(items[i : i + batch])
    _sync(device)
    took = time.perf_counter() - t0
    one = []
    for i in range(30):
        t0 = time.perf_counter()
        reader.read(questions[i % 3], sentences[:6], previous[:6])
        one.append((time.perf_counter() - t0) * 1000)
    return {
        "pairs": len(items),
        "reader_pairs_per_s": round(len(items) / took, 1),
        "batch_size": batch,
        "one_question_6_candidates_p50_ms": round(statistics.median(one), 2),
        "quantized_int8": reader.quantize,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="eval/bench", help="folder for gpu_check.json and .md")
    p.add_argument("--chunks", type=int, default=100_000, help="chunks to index (default 100000)")
    p.add_argument("--pairs", type=int, default=50_000, help="reader pairs to score (default 50000)")
    p.add_argument("--device", default="auto", help="auto, cuda or cpu")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

    import platform

    import torch

    from askdoc.config import Settings
    from askdoc.embed import Embedder, resolve_device

    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="askdoc-gpu-") as tmp:
        folder, random_weights = model_folder(Path(tmp))
        settings = Settings.from_env()
        embedder = Embedder(folder, device)
        docs = documents(args.chunks, settings, embedder)
        result = {
            "device": name,
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "random_weights": random_weights,
            "index": index_stage(docs, settings, embedder),
            "reader": reader_stage(device, args.pairs),
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["store_free"] = not any(m in sys.modules for m in ("chromadb", "gradio"))
    result["targets"] = {
        k: {"value": v, "target": t, "met": v >= t}
        for k, t in TARGETS.items()
        for v in [result["index" if k.startswith("index") else "reader"][k]]
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# askdoc GPU check: {name}", "", "```"]
    lines += [f"{k:24} {json.dumps(v)}" for k, v in result.items() if k not in ("index", "reader", "targets")]
    for stage in ("index", "reader"):
        lines += [f"{stage}.{k:30} {v}" for k, v in result[stage].items()]
    lines += [f"target {k:26} {v['value']} >= {v['target']}: {'met' if v['met'] else 'NOT met'}"
              for k, v in result["targets"].items()]  # fmt: skip
    (out / "gpu_check.md").write_text("\n".join(lines + ["```", ""]))
    print("\n".join(lines[3:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
