"""Read: a trained cross-encoder that reads a question against candidate sentences.

For each candidate it reads the pair (question, sentence [SEP] previous sentence)
and gives the probability that the sentence answers the question and the exact
answer span inside it (start/end logits over the sentence's word pieces). The
encoder is the bundled all-MiniLM-L6-v2 architecture; the weights, trained by
``askdoc train-reader`` (see `askdoc.train`), ship in ``askdoc/models/reader/``.

Loaded once per process, like the embedder. On a CPU it runs ``reader.onnx``, the
same network with int8 weights, in ONNX Runtime: about as fast as torch's own
dynamic int8 (which serves a reader folder without that file) and closer to the
full-precision weights (span F1 +3 points on held-out SQuAD v2). On CUDA it runs
the weights as they are.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import ConfigError

#: The shipped weights and their model card.
DEFAULT_READER_DIR = Path(__file__).resolve().parent / "models" / "reader"
WEIGHTS_FILE = "reader.safetensors"
#: The int8 ONNX export of the weights, without word embeddings (`export_onnx`).
ONNX_FILE = "reader.onnx"
#: Word pieces per (question, sentence [SEP] previous) pair; what training used.
MAX_PIECES = 128
#: What reading uses: the end of the pair, the previous sentence, is cut first. Measured
#: (hit@1 / span F1 on held-out SQuAD v2, on XQuAD; the article's warm answer p50):
#: 128: 0.765 / 0.645, 0.875 / 0.711, 47 ms; 96: 0.765 / 0.644, -, 47 ms;
#: 80: 0.767 / 0.638, 0.876 / 0.709, 42 ms; 64: 0.767 / 0.633, -, 36 ms.
READ_PIECES = 80
#: Longest answer span, in word pieces.
MAX_SPAN_PIECES = 30
#: The reader's word-embedding matrix is the bundled MiniLM's, frozen in training and not
#: shipped (about half the weights): it is taken from the model package at load time.
WORD_EMBEDDINGS = "enc.embeddings.word_embeddings.weight"

_MODELS: dict[tuple[str, str, bool], object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on one candidate sentence.

    ``start``/``end`` are character offsets of the answer span inside the sentence
    text given (``sentence[start:end]``); ``logit`` is the sentence head's raw score.
    """

    probability: float
    logit: float
    start: int
    end: int


def pair_text(sentence: str, previous: str) -> str:
    """The second segment the reader reads: the sentence, then its predecessor as context."""
    return f"{sentence} [SEP] {previous}" if previous else sentence


def encode_pairs(
    tokenizer, questions: Sequence[str], sentences: Sequence[str], previous: Sequence[str], tensors: str,
    max_length: int = MAX_PIECES,
):  # fmt: skip
    """Tokenized (question, sentence [SEP] previous) pairs with character offsets, as both
    reading and training see them (``tensors``: "np" or "pt")."""
    return tokenizer(
        list(questions),
        [pair_text(s, p) for s, p in zip(sentences, previous)],
        truncation="longest_first",  # a long question gives way too, not only the sentence
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors=tensors,
    )


def build_model(config_dir: str):
    """The reader network (encoder + sentence head + span head), untrained heads."""
    import torch
    from transformers import BertConfig, BertModel

    class ReaderNet(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.enc = BertModel(config)
            self.cls = torch.nn.Linear(config.hidden_size, 1)
            self.span = torch.nn.Linear(config.hidden_size, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.enc(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            logit = self.cls(h[:, 0]).squeeze(-1)
            start, end = self.span(h).unbind(-1)
            return logit, start, end

    return ReaderNet(BertConfig.from_pretrained(config_dir))


class Reader:
    """Scores candidate sentences for a question and finds the answer span in each."""

    def __init__(self, path: str | Path | None = None, device: str = "auto", quantize: bool | None = None):
        self.path = Path(path) if path else DEFAULT_READER_DIR
        self._device = device
        self._quantize = quantize

    @cached_property
    def device(self) -> str:
        from .embed import resolve_device

        return resolve_device(self._device)

    @cached_property
    def quantize(self) -> bool:
        # int8 only where it helps: a CPU. CUDA runs the weights as they are.
        return not self.device.startswith("cuda") if self._quantize is None else self._quantize

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        from .embed import bundled_model_path

        return AutoTokenizer.from_pretrained(bundled_model_path())

    @cached_property
    def model(self):
        """The loaded network (an `OnnxReader` or a torch module), shared by every Reader
        of the same weights and device."""
        key = (str(self.path), self.device, self.quantize)
        with _LOCK:
            if key not in _MODELS:
                onnx = self.path / ONNX_FILE
                if self.quantize and self.device == "cpu" and onnx.is_file():
                    _MODELS[key] = OnnxReader(onnx)
                else:
                    _MODELS[key] = load_model(self.path / WEIGHTS_FILE, self.device, self.quantize)
            return _MODELS[key]

    def read(self, question: str, sentences: Sequence[str], previous: Sequence[str]) -> list[Reading]:
        """One `Reading` per sentence, in one batched forward pass."""
        if not sentences:
            return []
        batch = encode_pairs(self.tokenizer, [question] * len(sentences), sentences, previous, "np", READ_PIECES)
        logit, start, end = self.scores(batch)
        prob = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
        out = []
        for i, sentence in enumerate(sentences):
            s, e = best_span(start[i], end[i], batch["token_type_ids"][i], batch["offset_mapping"][i], len(sentence))
            out.append(Reading(float(prob[i]), float(logit[i]), s, e))
        return out

    def scores(self, batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sentence logits and the start and end logits per word piece of pairs
        tokenized by `encode_pairs` (numpy), in one forward pass."""
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        if isinstance(self.model, OnnxReader):
            return tuple(self.model(**inputs))
        import torch

        with torch.inference_mode():
            got = self.model(**{k: torch.as_tensor(v, device=self.device) for k, v in inputs.items()})
        return tuple(t.float().cpu().numpy() for t in got)


class OnnxReader:
    """``reader.onnx`` in ONNX Runtime: word pieces in, (logit, start, end) out, like the
    torch network. It looks the word embeddings up itself, from the bundled MiniLM."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # no notes on unused initializers
        # Its threads sleep between runs instead of spinning: spinning, they took the cores from
        # the query embedding (torch) beside them, and a warm answer took 70 ms instead of 50.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own unrelated types
            raise ConfigError(f"{path}: not a readable reader export ({exc})") from None
        self.words = bundled_word_embeddings().float().numpy()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray):
        feed = {
            "inputs_embeds": self.words[input_ids],
            "attention_mask": attention_mask.astype(np.int64),
            "token_type_ids": token_type_ids.astype(np.int64),
        }
        return self.session.run(None, feed)


def best_span(
    start: np.ndarray, end: np.ndarray, types: np.ndarray, offsets: np.ndarray, limit: int
) -> tuple[int, int]:
    """The highest-scoring (start, end) pair of word pieces inside the sentence
    (the second segment's characters below ``limit``), as character offsets."""
    ok = (types == 1) & (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 1] <= limit)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return 0, limit
    s, e = start[idx], end[idx]
    # scores[i, j] = start i + end j, for i <= j < i + MAX_SPAN_PIECES
    scores = s[:, None] + e[None, :]
    gap = idx[None, :] - idx[:, None]
    scores = np.where((gap >= 0) & (gap < MAX_SPAN_PIECES), scores, -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(offsets[idx[i], 0]), int(offsets[idx[j], 1])


def bundled_word_embeddings():
    """The bundled MiniLM's word-embedding matrix (a torch tensor), read alone from its weights
    (or, on a machine with only the kit of ``scripts/gpu_kit.sh``, from ``word_embeddings.safetensors``)."""
    from safetensors import safe_open

    from .embed import bundled_model_path

    folder = Path(bundled_model_path())
    path = folder / "model.safetensors"
    if not path.is_file():
        path = folder / "word_embeddings.safetensors"
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.get_tensor("embeddings.word_embeddings.weight")
    except (OSError, KeyError) as exc:
        raise ConfigError(f"cannot read the MiniLM word embeddings the reader uses from {folder}: {exc}") from None


def load_model(weights: Path, device: str = "cpu", quantize: bool = False):
    """The reader network with ``weights`` loaded, in eval mode (int8 linears if ``quantize``)."""
    if not weights.is_file():
        raise ConfigError(f"reader weights not found at {weights}; reinstall askdoc or run `askdoc train-reader`")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from safetensors.torch import load_file

    from .embed import bundled_model_path

    model = build_model(bundled_model_path())
    state = load_file(str(weights))
    if WORD_EMBEDDINGS not in state:
        state[WORD_EMBEDDINGS] = bundled_word_embeddings()
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except RuntimeError as exc:
        raise ConfigError(f"{weights}: not a reader checkpoint ({exc})") from None
    missing = [k for k in model.state_dict() if k not in state and not k.startswith("enc.pooler")]
    if missing:
        raise ConfigError(f"{weights}: not a reader checkpoint (missing {missing[0]})")
    model.eval()
    if quantize:
        with warnings.catch_warnings():  # torch announces a future API change on every load
            warnings.simplefilter("ignore")
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model.to(device)


def export_onnx(folder: str | Path) -> Path:
    """Write ``reader.onnx`` beside ``reader.safetensors``: the network without its word
    embeddings (the reader looks them up itself, from the MiniLM package), with int8 weights
    (ONNX Runtime's dynamic quantisation), which is what a CPU runs (see `askdoc.read`)."""
    import logging
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = Path(folder)
    model = load_model(folder / WEIGHTS_FILE)

    class Core(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, inputs_embeds, attention_mask, token_type_ids):
            net = self.net
            h = net.enc(inputs_embeds=inputs_embeds, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            start, end = net.span(h).unbind(-1)
            return net.cls(h[:, 0]).squeeze(-1), start, end

    pieces = torch.ones(2, 16, dtype=torch.int64)
    example = (torch.zeros(2, 16, model.enc.config.hidden_size), pieces, pieces)
    axes = {"inputs_embeds": {0: "pairs", 1: "pieces"}, "attention_mask": {0: "pairs", 1: "pieces"},
            "token_type_ids": {0: "pairs", 1: "pieces"}, "logit": {0: "pairs"}, "start": {0: "pairs", 1: "pieces"},
            "end": {0: "pairs", 1: "pieces"}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing
        fp32 = Path(tmp) / "reader-fp32.onnx"
        torch.onnx.export(Core().eval(), example, str(fp32), input_names=list(axes)[:3], output_names=list(axes)[3:],
                          dynamic_axes=axes, opset_version=17, dynamo=False)  # fmt: skip
        logging.disable(logging.WARNING)  # its advice to pre-process, printed on every export
        try:
            quantize_dynamic(str(fp32), str(folder / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.disable(logging.NOTSET)
    return folder / ONNX_FILE
