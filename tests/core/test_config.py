"""Settings: defaults, then ASKFRONT_* environment variables, then CLI flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from askfront.core.config import Settings
from askfront.core.errors import ConfigError


def test_env_overrides_defaults_and_flags_override_env() -> None:
    env = {"ASKFRONT_TOP_K": "8", "ASKFRONT_INDEX": "/data/idx", "ASKFRONT_MAX_FILE_MB": "2.5"}
    settings = Settings.from_env(env)
    assert (settings.top_k, settings.index, settings.max_file_mb) == (8, Path("/data/idx"), 2.5)
    assert settings.corpus == Path("corpus")
    flagged = Settings.from_env(env, top_k=3, index=None)
    assert flagged.top_k == 3 and flagged.index == Path("/data/idx")


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="ASKFRONT_CHUNK_SIZE='big'"):
        Settings.from_env({"ASKFRONT_CHUNK_SIZE": "big"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ASKFRONT_INDEX_TYPE", "ivf", "index_type must be one of auto, flat, hnsw, not 'ivf'"),
        ("ASKFRONT_ANSWERER", "gpt", "answerer must be one of reader, rules, llm, not 'gpt'"),
        ("ASKFRONT_RETRIEVER", "magic", "retriever must be one of dense, bm25, hybrid"),
        ("ASKFRONT_PRECISION", "fp8", "precision must be one of auto, fp32, bf16"),
        ("ASKFRONT_TOP_K", "0", "top_k must be greater than 0"),
        ("ASKFRONT_TOP_K", "5000", "top_k must be at most 100"),
        ("ASKFRONT_MAX_FILE_MB", "nan", "max_file_mb must be greater than 0"),
        ("ASKFRONT_CHUNK_OVERLAP", "900", "chunk_overlap must be at least 0 and below chunk_size"),
    ],
)
def test_settings_are_checked_when_built(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_env({variable: value})


def test_no_secret_in_the_public_settings() -> None:
    settings = Settings(auth="editor:s3cret", llm_key="sk-123")
    public = settings.public()
    assert "auth" not in public and "llm_key" not in public and "s3cret" not in str(public)
    assert public["answerer"] == "reader" and public["top_k"] == "5"
    assert Settings(max_file_mb=20).max_file_bytes == 20_000_000


def test_settings_first_used_late_are_checked_when_built(tmp_path) -> None:
    from askfront.core.errors import ConfigError

    for bad, says in (
        ({"auth": "nopassword"}, "ASKFRONT_AUTH must be user:password"),
        ({"ray": "head.example.org"}, "ray must be auto or host:port"),
        ({"reader": str(tmp_path)}, "not a reader folder (no reader.json in it)"),
    ):
        with pytest.raises(ConfigError, match=re.escape(says)):
            Settings(**bad)
    (tmp_path / "reader.json").write_text("{}")
    assert Settings(auth="ed:s3cret", ray="127.0.0.1:6379", reader=str(tmp_path)).reader == str(tmp_path)
    assert Settings(ray="ray://10.0.0.5:10001").ray and Settings(ray="auto").ray == "auto"
