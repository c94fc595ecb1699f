"""The bundled local embedding models: offline, pinned, normalised, semantic."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import MiniLMEmbedder, make_embedder, minilm_files
from retrieval.errors import ConfigError, ModelFileError

PARAPHRASE = ("The council raised water bills by 4.5%.", "Water charges go up 4.5% after the council vote.")
UNRELATED = "The striker scored twice in the second half."


@pytest.mark.parametrize("fixture", ["wordllama", "minilm"])
def test_vectors_are_unit_length_and_a_paraphrase_is_closer_than_an_unrelated_sentence(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    model = request.getfixturevalue(fixture)
    v = model.embed([*PARAPHRASE, UNRELATED])
    assert v.shape == (3, model.dimension)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


@pytest.mark.parametrize("fixture", ["wordllama", "minilm"])
def test_no_texts_give_an_empty_matrix(fixture: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(fixture)
    assert model.embed([]).shape == (0, model.dimension)


def test_batches_give_the_same_vectors_as_single_texts(minilm: MiniLMEmbedder) -> None:
    texts = [PARAPHRASE[0], UNRELATED * 5, "Short."]
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_altered_model_file_is_refused(tmp_path: Path) -> None:
    model, tokenizer = minilm_files()
    copy = tmp_path / "model.onnx"
    shutil.copy(model, copy)
    with copy.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError, match="does not match its pinned sha256"):
        MiniLMEmbedder(copy, tokenizer)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    _, tokenizer = minilm_files()
    with pytest.raises(ModelFileError, match="missing"):
        MiniLMEmbedder(tmp_path / "nowhere.onnx", tokenizer)


def test_unknown_embeddings_setting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown embeddings"):
        make_embedder("bert")


def test_openai_embeddings_need_a_client() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_embedder("openai")


@pytest.mark.parametrize(("spinning", "expected"), [(False, "0"), (True, "1")])
def test_minilm_threads_spin_only_when_asked(spinning: bool, expected: str) -> None:
    """Not spinning by default: a spinning thread burns a core between a check's small runs."""
    options = MiniLMEmbedder(spinning=spinning)._session.get_session_options()
    for pool in ("intra_op", "inter_op"):
        assert options.get_session_config_entry(f"session.{pool}.allow_spinning") == expected
