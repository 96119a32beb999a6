"""The disk under a local lake fills in the middle of a write: one clear error, the table
as it was (row for row), and the next run, once there is room, lands exactly the rest.

The lake sits on a size-limited tmpfs mounted for the test (this needs CAP_SYS_ADMIN, which
the CI machine has; elsewhere the test says it cannot mount and skips)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError
from jobs import ingest

WORDS = [f"w{i:04x}" for i in range(4096)]   # random words: text that does not compress away


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here ({done.stderr.strip()}): the disk-full case needs it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _reviews(folder: Path, first: int, n: int, words: int, rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        (folder / f"{i}_8.txt").write_text(" ".join(rng.choices(WORDS, k=words)))


def _landed(spark, cfg) -> list[tuple[str, str]]:
    return sorted((r.source_path.rsplit("/", 1)[-1], bytes(r.content).decode())
                  for r in lake.read_table(spark, cfg, "bronze").select("source_path", "content").collect())


def test_the_disk_fills_mid_write_then_rerun_completes(spark, tmp_path, small_disk):
    rng = random.Random(7)
    corpus = tmp_path / "aclImdb"
    _reviews(corpus / "train" / "pos", 0, 20, 200, rng)
    cfg = load_config("test", lake_root=str(small_disk / "lake"), overrides=[f"source.path={corpus}"])
    ingest.run(spark, cfg)
    before = _landed(spark, cfg)
    assert len(before) == 20

    _reviews(corpus / "train" / "pos", 20, 40, 6000, rng)            # ~1.2 MB that will not fit
    ballast = small_disk / "ballast"
    free = subprocess.run(["df", "--output=avail", "-B1", str(small_disk)], capture_output=True, text=True)
    ballast.write_bytes(b"\0" * (int(free.stdout.split()[-1]) - 300_000))   # leave ~300 kB
    with pytest.raises(CrosslakeError, match=r"table 'bronze': writing .* failed because the disk is full; "
                                             r"nothing of this run was committed") as full:
        ingest.run(spark, cfg)
    assert "\n" not in str(full.value)
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    assert lake.current_version(spark, cfg.table_path("bronze")) == 0
    assert _landed(spark, cfg) == before                              # exactly as it was

    ballast.unlink()                                                  # room again
    ingest.run(spark, cfg)
    after = _landed(spark, cfg)
    expected = sorted((p.name, p.read_text()) for p in (corpus / "train" / "pos").iterdir())
    assert len(after) == 60 and after == expected
