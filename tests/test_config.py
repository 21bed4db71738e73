"""Settings: defaults, then ASKFRONT_* environment variables, then CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from askfront.config import Settings
from askfront.errors import ConfigError


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
