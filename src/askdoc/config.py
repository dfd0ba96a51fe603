"""Settings: ``DEFAULT_*`` constants, overridable by ``ASKDOC_*`` environment variables."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import ConfigError

#: Sentence-transformers model name or folder; empty means the bundled MiniLM.
DEFAULT_MODEL = ""
#: Target chunk size in cl100k tokens, and the overlap between chunks.
DEFAULT_CHUNK_TOKENS = 160
DEFAULT_CHUNK_OVERLAP = 40
#: Passages retrieved per question.
DEFAULT_TOP_K = 5
#: Below this confidence askdoc abstains instead of answering: set where 5% of the answerable
#: questions of 6 SQuAD v2 articles fall below it, each scored by models fitted without it
#: (``eval/fit_weights.py``; no eval set and no reader training saw those articles).
DEFAULT_MIN_CONFIDENCE = 0.079
#: The reader's weights folder; empty means the shipped reader, "off" answers by the
#: feature scorer alone (faster, less accurate).
DEFAULT_READER = ""
#: Embedding batch size; 0 picks one by device (see `askdoc.embed`).
DEFAULT_BATCH_SIZE = 0
#: Embedding precision: "auto" runs fp16 on CUDA and fp32 elsewhere; or "fp32", "fp16".
DEFAULT_PRECISION = "auto"
#: Seconds to wait for a Chroma server before giving up.
DEFAULT_CHROMA_TIMEOUT = 5.0
#: "auto" picks CUDA when available, else CPU.
DEFAULT_DEVICE = "auto"
#: Largest document accepted, in bytes, and largest upload through the browser chat.
DEFAULT_MAX_DOCUMENT_BYTES = 20_000_000
DEFAULT_MAX_UPLOAD_BYTES = 10_000_000

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The article indexed when the user has added nothing else.
DEFAULT_ARTICLE = _PACKAGE_DIR / "data" / "azerbaijan-leads-nam.txt"


def _default_index_dir() -> Path:
    # In a source checkout the index lives in the repo's index/ folder whatever
    # the working directory; an installed package uses the user's data folder.
    repo = _PACKAGE_DIR.parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "index").is_dir():
        return repo / "index"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "askdoc" / "index"


@dataclass(frozen=True)
class Settings:
    """Every tunable of askdoc; build with `Settings.from_env()`."""

    index_dir: Path
    chroma_url: str = ""
    model: str = DEFAULT_MODEL
    reader: str = DEFAULT_READER
    device: str = DEFAULT_DEVICE
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    top_k: int = DEFAULT_TOP_K
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    batch_size: int = DEFAULT_BATCH_SIZE
    precision: str = DEFAULT_PRECISION
    chroma_timeout: float = DEFAULT_CHROMA_TIMEOUT
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    #: "user:password" turns on the browser chat's login.
    auth: str = ""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``ASKDOC_<FIELD>`` variables, then explicit overrides."""
        values: dict[str, object] = {"index_dir": _default_index_dir()}
        for f in fields(cls):
            raw = os.environ.get(f"ASKDOC_{f.name.upper()}")
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, raw.strip(), f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        new = replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.validate()
        return new

    def validate(self) -> None:
        if not isinstance(self.index_dir, Path):
            object.__setattr__(self, "index_dir", Path(self.index_dir))
        if self.chunk_tokens < 16:
            raise ConfigError("chunk_tokens must be at least 16")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        if self.top_k < 1:
            raise ConfigError("top_k must be at least 1")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError("min_confidence must be between 0 and 1")
        if self.auth and not all(self.auth.partition(":")[::2]):
            raise ConfigError("ASKDOC_AUTH must be user:password")
        if self.max_document_bytes < 1 or self.max_upload_bytes < 1:
            raise ConfigError("max_document_bytes and max_upload_bytes must be at least 1")
        if not (isinstance(self.chroma_timeout, (int, float)) and math.isfinite(self.chroma_timeout)) or (
            self.chroma_timeout <= 0
        ):
            raise ConfigError(f"ASKDOC_CHROMA_TIMEOUT must be a number of seconds above 0, not {self.chroma_timeout!r}")
        if self.batch_size < 0:
            raise ConfigError("batch_size must be 0 (auto) or more")
        if self.precision not in ("auto", "fp32", "fp16"):
            raise ConfigError(f"unknown precision {self.precision!r}: use auto, fp32 or fp16")
        numbered = self.device.startswith("cuda:") and self.device[5:].isdigit()
        if self.device not in ("auto", "cpu", "cuda", "mps") and not numbered:
            raise ConfigError(f"unknown device {self.device!r}: use auto, cpu, cuda or cuda:N")


def _parse(name: str, raw: str, kind: object) -> object:
    kind = str(kind)
    try:
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        raise ConfigError(f"ASKDOC_{name.upper()}={raw!r} is not a number") from None
    if "Path" in kind:
        return Path(raw).expanduser()
    return raw
