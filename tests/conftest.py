"""One SparkSession for the whole test run (local, UI off, 2 shuffle partitions), built
exactly as the jobs build theirs, from the `test` profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from crosslake.config import Config, load_config  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    from crosslake.session import build_session

    session = build_session("tests", load_config("test"))
    yield session
    session.stop()


@pytest.fixture
def make_cfg(tmp_path: Path):
    """Config for the test profile with the lake (and source) under tmp_path."""

    def make(*overrides: str) -> Config:
        return load_config("test", lake_root=str(tmp_path / "lake"),
                           overrides=[f"source.path={tmp_path / 'aclImdb'}", *overrides])

    return make
