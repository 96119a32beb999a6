"""Secrets come only from the environment or mounted secret files, and never come out:
not in logs (verbose included), error messages, tables, models or the lake's files.

Known secrets are injected (the database password through a mounted-file convention, the
object-store keys through the environment, a wrong password that the database refuses)
and every output is searched for them (tests/secret_search.py)."""

from __future__ import annotations

import os

import pytest

from crosslake import secrets
from crosslake.errors import ConfigError
from jobs import clean, generate, ingest
from tests.helpers import cli
from tests.secret_search import leaks

AWS_KEY, AWS_SECRET = "AKIACROSSLAKEINJECTED", "injected-aws-secret-0f3c9a7e"
WRONG_PASSWORD = "injected-wrong-password-77b1"


def test_a_secret_comes_from_the_environment_then_a_named_file_then_the_secrets_folder(tmp_path, monkeypatch):
    for name in ("X_TOKEN", "X_TOKEN_FILE", secrets.SECRETS_DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    assert secrets.get("X_TOKEN") is None
    folder = tmp_path / "mounted"
    folder.mkdir()
    (folder / "X_TOKEN").write_text("from-the-folder\n")
    monkeypatch.setenv(secrets.SECRETS_DIR_ENV, str(folder))
    assert secrets.get("X_TOKEN") == "from-the-folder"            # trailing newline dropped
    (tmp_path / "file").write_text("from-the-file")
    monkeypatch.setenv("X_TOKEN_FILE", str(tmp_path / "file"))
    assert secrets.get("X_TOKEN") == "from-the-file"
    monkeypatch.setenv("X_TOKEN", "from-the-environment")
    assert secrets.get("X_TOKEN") == "from-the-environment"
    monkeypatch.delenv("X_TOKEN")
    monkeypatch.setenv("X_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"X_TOKEN_FILE names .*missing, which does not exist"):
        secrets.get("X_TOKEN")


@pytest.mark.slow  # one stage as the crosslake command in its own process
def test_injected_secrets_reach_no_output(tmp_path, spark, monkeypatch, capfd, postgres_server):
    pg = postgres_server.fresh("lending")
    secret_file = tmp_path / "run-secrets" / "db-password"
    secret_file.parent.mkdir()
    secret_file.write_text(pg.password + "\n")
    lake_root = tmp_path / "lake"
    common = ["--profile", "test", "--lake-root", str(lake_root), "--set", "datasets.loans.source.format=jdbc",
              "--set", f"databases.lending.url={pg.url('lending')}", "-v"]
    for name in [k for k in os.environ if k.startswith(("LENDING_DB_", "AWS_"))]:
        monkeypatch.delenv(name)
    injected = {"LENDING_DB_USER": pg.user, "LENDING_DB_PASSWORD_FILE": str(secret_file),
                "AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    for name, value in injected.items():
        monkeypatch.setenv(name, value)
    outputs = {}

    def in_process(label: str, job, *argv: str, code: int = 0) -> str:
        """A job in this process; capfd takes Python's and the JVM's output alike."""
        capfd.readouterr()
        assert job.main([*argv, *common]) == code, label
        outputs[label] = "".join(capfd.readouterr())
        return outputs[label]

    # the password comes from the mounted file: the jobs work without it in the environment
    in_process("generate", generate, "--dataset", "loans", "--rows", "300", "--to", "database")
    # one job as its own process, verbose, so the JVM's own output is searched as a user sees it
    done = cli("ingest", "--dataset", "loans", *common, expect=None, timeout=600)
    outputs["ingest (process)"] = done.stdout + done.stderr
    assert done.returncode == 0, outputs["ingest (process)"][-3000:]
    in_process("clean", clean, "--dataset", "loans")
    # error paths: a wrong password (refused), a secret file that is not there, a database down
    monkeypatch.setenv("LENDING_DB_PASSWORD", WRONG_PASSWORD)
    err = in_process("wrong password", ingest, "--dataset", "loans", code=1)
    assert "refused the credentials in LENDING_DB_USER/LENDING_DB_PASSWORD" in err
    monkeypatch.delenv("LENDING_DB_PASSWORD")
    monkeypatch.setenv("LENDING_DB_PASSWORD_FILE", str(tmp_path / "nowhere"))
    err = in_process("missing file", ingest, "--dataset", "loans", code=2)
    assert "LENDING_DB_PASSWORD_FILE names" in err
    monkeypatch.setenv("LENDING_DB_PASSWORD_FILE", str(secret_file))
    common[common.index(f"databases.lending.url={pg.url('lending')}")] = "databases.lending.url=" \
        "jdbc:postgresql://127.0.0.1:1/lending"
    err = in_process("database down", ingest, "--dataset", "loans", code=1)
    assert "cannot connect to jdbc:postgresql://127.0.0.1:1/lending" in err

    found = leaks([pg.password, WRONG_PASSWORD, AWS_KEY, AWS_SECRET], texts=outputs, folders=[lake_root],
                  spark=spark)
    assert found == [], found
    # the search itself works: the file the password came from is found
    assert leaks([pg.password], folders=[secret_file.parent]) != []
