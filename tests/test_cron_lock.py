"""Cron runs never overlap: `--lock NAME` lets one run hold the lock; a second run exits 4
at once with a message, and the lock goes when its holder does, even when killed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import CROSSLAKE

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes




def run(tmp_path: Path, *argv: str, wait: bool = True, lock: str = "nightly"):
    cmd = [CROSSLAKE, *argv, "--profile", "test", "--lake-root", str(tmp_path / "lake"), "--lock", lock]
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_a_second_run_is_skipped_while_the_first_holds_the_lock(tmp_path):
    lock = tmp_path / "lake" / "_locks" / "nightly.lock"
    (tmp_path / "lake").mkdir()  # an (empty) lake: the page serves an existing lake, it never creates one
    first = run(tmp_path, "serve", "--port", "0", wait=False)  # a long-running holder
    try:
        deadline = time.time() + 60
        while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None and time.time() < deadline, first.communicate()[1][-2000:]
            time.sleep(0.2)
        second = run(tmp_path, "tables")
        assert second.returncode == 4
        assert f"skipped: another run holds lock 'nightly' ({lock})" in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # a crash: the OS releases the lock
        first.wait()
    after = run(tmp_path, "tables")
    assert after.returncode == 0, after.stderr[-2000:]
    assert "no tables under" in after.stdout
    bad = run(tmp_path, "tables", lock="../x")
    assert bad.returncode == 2 and "--lock takes a name" in bad.stderr
