"""Usage and configuration mistakes: each is one `error:` line on stderr, exit 2, before Spark
starts where the mistake is in the arguments or the settings, and nothing is left behind.

Every case runs `crosslake ...` in-process through crosslake.cli.main. The parser and config
cases also check that no Spark session was built; the time-travel cases read a two-version
table written here (no pipeline run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest

from crosslake import config as config_module
from crosslake import lake
from crosslake.cli import main
from crosslake.config import RANGES, available_profiles, load_config, numeric_settings
from crosslake.errors import CrosslakeError
from jobs.generate import MARKER
from tests.helpers import one_line_error


one_error = one_line_error


@pytest.fixture
def no_spark(monkeypatch):
    """Fails the test if the job builds a Spark session; checks no SparkContext appeared."""
    import crosslake.session

    def refuse(*_, **__):
        raise AssertionError("a Spark session was built for a mistake the parser or the config should catch")

    monkeypatch.setattr(crosslake.session, "build_session", refuse)
    before = pyspark.SparkContext._active_spark_context
    yield
    assert pyspark.SparkContext._active_spark_context is before


def common(tmp_path: Path) -> list[str]:
    return ["--profile", "test", "--lake-root", str(tmp_path / "lake"), "--set", f"source.path={tmp_path / 'src'}"]


# -- found by the parser: no config read, no JVM ------------------------------------------
PARSER_CASES = {
    "negative_runs_limit": (["runs", "--limit", "-1"], "argument --limit: must be >= 1 (got -1)"),
    "zero_tables_limit": (["tables", "show", "silver", "--limit", "0"], "argument --limit: must be >= 1 (got 0)"),
    "limit_not_a_number": (["runs", "--limit", "ten"], "argument --limit: expected a whole number, got 'ten'"),
    "margin_above_half": (["feedback", "review", "--margin", "5"], "argument --margin: must be between 0 and 0.5"),
    "margin_negative": (["feedback", "review", "--margin", "-0.1"], "argument --margin: must be between 0 and 0.5"),
    "generate_train_above_max": (["generate", "--train", "99999"],
                                 "argument --train: must be between 0 and 25,000 (got 99999)"),
    "generate_train_negative": (["generate", "--train", "-5"], "argument --train: must be between 0 and 25,000"),
    "generate_test_above_max": (["generate", "--test", "25001"], "argument --test: must be between 0 and 25,000"),
    "generate_unsup_negative": (["generate", "--unsup", "-1"], "argument --unsup: must be between 0 and 50,000"),
    "generate_rows_zero": (["generate", "--dataset", "loans", "--rows", "0"], "argument --rows: must be >= 1"),
    "generate_out_is_a_file": (["generate", "--out", "{file}"], "argument --out: {file} is a file, not a folder"),
    "generate_out_under_a_file": (["generate", "--out", "{file}/corpus"],
                                  "{file}/corpus cannot be created: {file} is a file"),
    "timestamp_garbage": (["tables", "show", "silver", "--timestamp", "garbage"],
                          "'garbage' is not a timestamp: use YYYY-MM-DD, YYYY-MM-DD HH:MM:SS"),
    "timestamp_impossible_date": (["tables", "show", "silver", "--timestamp", "2026-13-45"],
                                  "'2026-13-45' is not a timestamp"),
    "negative_version": (["tables", "show", "silver", "--version", "-1"],
                         "argument --version: must be >= 0 (got -1): table versions start at 0"),
    "negative_since": (["tables", "changes", "silver", "--since", "-3"], "argument --since: must be >= 0"),
    "negative_gold_version": (["train", "--gold-version", "-1"], "argument --gold-version: must be >= 0"),
    "negative_retention": (["maintain", "--retention-hours", "-1"], "argument --retention-hours: must be >= 0"),
    "no_stage": ([], "the following arguments are required: STAGE"),
    # mistakes that need two arguments to see: the job's check_options, still before the config
    "show_without_table": (["tables", "show"], "`crosslake tables show` needs a table name"),
    "changes_without_since": (["tables", "changes", "silver"], "needs --since VERSION"),
    "version_and_timestamp": (["tables", "show", "silver", "--version", "1", "--timestamp", "2026-01-01"],
                              "--version or --timestamp, not both"),
    "since_on_show": (["tables", "show", "silver", "--since", "1"], "--since applies to `crosslake tables changes`"),
    "trace_bad_target": (["runs", "trace", "silver"], "trace needs TABLE:VERSION or model:NAME:VERSION"),
    "promote_bad_version": (["models", "promote", "latest"], "promote takes a version number or 'candidate'"),
    "sweep_lr_zero": (["sweep", "--grid", "lr=0.001,0"], "--grid lr=0.001,0: train.lr must be > 0 (got 0.0)"),
    "sweep_epochs_word": (["sweep", "--grid", "epochs=2,many"], "'train.epochs' must be int, got 'many'"),
    "sweep_unknown_network": (["sweep", "--grid", "text_model=cnn,rnn"],
                              "--grid text_model=cnn,rnn: train.text_model must be one of cnn, ngram (got 'rnn')"),
}


@pytest.mark.parametrize("argv, message", PARSER_CASES.values(), ids=PARSER_CASES.keys())
def test_argument_mistakes_are_one_line_before_spark(argv, message, tmp_path, capsys, no_spark):
    afile = tmp_path / "notes.txt"
    afile.write_text("a user's file\n")
    argv = [a.replace("{file}", str(afile)) for a in argv]
    assert main(argv + (common(tmp_path) if argv else [])) == 2
    line = one_error(capsys)
    assert message.replace("{file}", str(afile)) in line, line
    assert afile.read_text() == "a user's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no lake, no lock, no corpus


def test_help_still_works(capsys):
    for stage in ("generate", "tables", "runs", "train"):
        with pytest.raises(SystemExit) as done:
            main([stage, "--help"])
        assert done.value.code == 0
        assert f"usage: crosslake {stage}" in capsys.readouterr().out


# -- found when the config loads: before any session ----------------------------------------
SETTING_CASES = {
    "epochs_negative": (["train", "--set", "train.epochs=-1"],
                        "train.epochs must be >= 1 (got -1): fix --set train.epochs=..."),
    "lr_zero": (["train", "--set", "train.lr=0"], "train.lr must be > 0 (got 0.0): fix --set train.lr=..."),
    "lr_not_finite": (["train", "--set", "train.lr=.nan"], "train.lr must be > 0 (got nan)"),
    "batch_size_zero": (["train", "--set", "train.batch_size=0"], "train.batch_size must be >= 1 (got 0)"),
    "kernel_size_zero": (["train", "--set", "train.kernel_sizes=[3, 0]"],
                         "train.kernel_sizes must each be >= 1 (got [3, 0])"),
    "dropout_one": (["train", "--set", "train.dropout=1"], "train.dropout must be >= 0 and < 1 (got 1.0)"),
    "quarantine_fraction_negative": (["clean", "--set", "clean.max_quarantine_fraction=-3"],
                                     "clean.max_quarantine_fraction must be between 0 and 1 (got -3.0)"),
    "validation_fraction_above_one": (["clean", "--set", "clean.validation_fraction=1.5"],
                                      "clean.validation_fraction must be between 0 and 1 (got 1.5)"),
    "dataset_quarantine_fraction": (["clean", "--dataset", "loans", "--set",
                                     "datasets.loans.clean.max_quarantine_fraction=2"],
                                    "datasets.loans.clean.max_quarantine_fraction must be between 0 and 1 (got 2.0)"),
    "dataset_split_fraction": (["features", "--set", "datasets.loans.split.test_fraction=-0.2"],
                               "datasets.loans.split.test_fraction must be between 0 and 1 (got -0.2)"),
    "dataset_train_override": (["train", "--set", "datasets.loans.train.epochs=0"],
                               "datasets.loans.train.epochs must be >= 1 (got 0)"),
    "generate_size_setting": (["generate", "--set", "generate.train=99999"],
                              "generate.train must be between 0 and 25,000 (got 99999)"),
    "score_batch_zero": (["score", "--set", "score.batch_size=0"], "score.batch_size must be >= 1 (got 0)"),
    "stream_files_zero": (["stream", "--set", "stream.max_files_per_trigger=0"],
                          "stream.max_files_per_trigger must be >= 1 (got 0)"),
    "port_out_of_range": (["serve", "--set", "serve.port=70000"], "serve.port must be between 0 and 65,535"),
    "retention_negative": (["maintain", "--set", "maintenance.vacuum_retention_hours=-1"],
                           "maintenance.vacuum_retention_hours must be >= 0 (got -1)"),
    "wrong_type": (["train", "--set", "train.epochs=abc"], "'train.epochs' must be int, got 'abc'"),
    "unknown_network": (["train", "--set", "train.text_model=lstm"],
                        "train.text_model must be one of cnn, ngram (got 'lstm')"),
    "class_weight_unknown": (["train", "--set", "train.class_weight=auto"],
                             "train.class_weight must be one of none, balanced (got 'auto')"),
    "tokenizer_repeats_negative": (["features", "--set", "features.tokenizer.repeats=-1"],
                                   "features.tokenizer.repeats must be >= 0 (got -1)"),
    "unknown_key": (["train", "--set", "train.epoch=3"], "unknown key(s) epoch in 'train'"),
    "value_not_yaml": (["train", "--set", "train.epochs=%x"], "--set train.epochs=%x: the value is not valid YAML"),
    "not_key_value": (["train", "--set", "epochs"], "--set expects section.key=value, got 'epochs'"),
}


@pytest.mark.parametrize("argv, message", SETTING_CASES.values(), ids=SETTING_CASES.keys())
def test_setting_mistakes_are_one_line_before_spark(argv, message, tmp_path, capsys, no_spark):
    assert main(argv + common(tmp_path)) == 2
    line = one_error(capsys)
    assert message in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written: no lake, no ledger row, no model


def test_a_bad_value_in_a_profile_names_the_file(tmp_path, monkeypatch, capsys, no_spark):
    conf = tmp_path / "conf"
    shutil.copytree(Path(config_module.__file__).resolve().parents[1] / "conf", conf)
    with open(conf / "test.yaml", "a") as fh:
        fh.write("\nclean:\n  max_quarantine_fraction: -3\n")
    monkeypatch.setenv("CROSSLAKE_CONF_DIR", str(conf))
    assert main(["clean", "--profile", "test", "--lake-root", str(tmp_path / "lake")]) == 2
    assert one_error(capsys) == ("error: clean.max_quarantine_fraction must be between 0 and 1 (got -3.0): "
                                 "fix conf/test.yaml or --set clean.max_quarantine_fraction=...")
    assert not (tmp_path / "lake").exists()


def test_every_numeric_setting_has_a_range_and_every_profile_passes():
    patterns = {p for p, _, _ in numeric_settings()}
    assert patterns - set(RANGES) == set(), "give these settings a range in crosslake/ranges.py RANGES"
    assert set(RANGES) - patterns == set(), "RANGES names settings that do not exist"
    profiles = available_profiles()
    assert {"local", "test", "cloud-cpu", "onprem-gpu", "gpu"} <= set(profiles)
    for combo in [*profiles, "onprem-gpu,test", "cloud-cpu,test", "onprem-gpu,gpu"]:
        load_config(combo)  # the shipped profiles are inside every range
    # values at the edges of their ranges are accepted
    cfg = load_config("test", overrides=["train.lr=1e-6", "clean.max_quarantine_fraction=0", "train.patience=0",
                                         "clean.validation_fraction=1", "serve.port=0", "train.num_threads=0"])
    assert cfg.train.lr == 1e-6 and cfg.clean.max_quarantine_fraction == 0.0


def test_training_that_changed_no_weight_is_not_stored():
    import torch
    from torch import nn

    from train.service import _require_learned
    from train.config import TrainConfig

    tcfg = TrainConfig(epochs=1, batch_size=2, lr=0.0, weight_decay=0.0, embed_dim=2, num_filters=2, kernel_sizes=[1],
                       dropout=0.0, seed=1, device="cpu", num_threads=1, loader_workers=1, patience=0, processes=1)
    for lr, learns in ((0.0, False), (0.1, True)):
        model = nn.Linear(3, 1)
        initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        model(torch.ones(4, 3)).sum().backward()
        optimizer.step()
        if learns:
            _require_learned(model, initial, tcfg)
        else:
            with pytest.raises(CrosslakeError, match="training changed none of the model's weights .*no model was "
                                                     "stored"):
                _require_learned(model, initial, tcfg)


# -- generate never replaces a folder it did not write ---------------------------------------
SMALL = ["--train", "6", "--test", "4", "--unsup", "0"]


@pytest.mark.parametrize("target", ["--out", "source.path", "dataset"])
def test_generate_refuses_a_folder_of_the_users_files(target, tmp_path, capsys, no_spark):
    mine = tmp_path / "src"
    mine.mkdir()
    (mine / "thesis.csv").write_text("my,own,data\n")
    (mine / "sub").mkdir()
    (mine / "sub" / "notes.txt").write_text("keep me\n")
    argv = {"--out": ["generate", *SMALL, "--out", str(mine)],
            "source.path": ["generate", *SMALL],  # common() points source.path at src/
            "dataset": ["generate", "--dataset", "loans", "--rows", "20", "--set",
                        f"datasets.loans.source.path={mine}"]}[target]
    assert main(argv + common(tmp_path)) == 2
    line = one_error(capsys)
    where = {"--out": "--out", "source.path": "source.path", "dataset": "datasets.loans.source.path"}[target]
    assert line.startswith(f"error: {where} {mine} holds files that `crosslake generate` did not write"), line
    assert "pick an empty or new folder, or remove that one first" in line
    assert sorted(str(p.relative_to(mine)) for p in mine.rglob("*")) == ["sub", "sub/notes.txt", "thesis.csv"]
    assert (mine / "thesis.csv").read_text() == "my,own,data\n"


def test_generate_replaces_only_what_it_wrote(tmp_path, capsys):
    out = tmp_path / "corpus"
    out.mkdir()  # empty: fine
    assert main(["generate", *SMALL, "--out", str(out)] + common(tmp_path)) == 0
    assert (out / MARKER).is_file() and len(list((out / "train" / "pos").iterdir())) > 0
    (out / "train" / "pos" / "stale.txt").write_text("left from before")
    assert main(["generate", "--train", "8", "--test", "4", "--unsup", "0", "--out", str(out)] + common(tmp_path)) == 0
    assert not (out / "train" / "pos" / "stale.txt").exists() and (out / MARKER).is_file()
    capsys.readouterr()


# -- the lake root: a file, missing, read-only ------------------------------------------------
@pytest.mark.parametrize("stage", [["tables"], ["ingest"], ["clean"], ["runs"], ["maintain"]])
def test_a_file_as_lake_root_is_refused(stage, tmp_path, capsys, no_spark):
    root = tmp_path / "lake"
    root.write_text("not a lake\n")
    assert main(stage + common(tmp_path)) == 2
    assert one_error(capsys) == (f"error: lake root {root} is a file, not a folder: set lake.root in conf/ or pass "
                                 f"--lake-root to a folder")
    assert root.read_text() == "not a lake\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]


def test_a_lake_root_under_a_file_cannot_be_created(tmp_path, capsys, no_spark):
    (tmp_path / "afile").write_text("x")
    argv = ["ingest", "--profile", "test", "--lake-root", str(tmp_path / "afile" / "lake")]
    assert main(argv) == 2
    assert f"lake root {tmp_path / 'afile' / 'lake'} cannot be created: {tmp_path / 'afile'} is a file" in \
        one_error(capsys)


@pytest.mark.parametrize("stage", [["maintain"], ["maintain", "--dry-run"], ["tables"], ["runs"], ["dq"],
                                   ["models"]])
def test_jobs_on_an_existing_lake_refuse_a_missing_root_and_create_nothing(stage, tmp_path, capsys, no_spark):
    assert main(stage + common(tmp_path) + ["--lock", "nightly"]) == 2
    assert one_error(capsys).startswith(f"error: lake root {tmp_path / 'lake'} does not exist: "
                                        f"`crosslake {stage[0]}` works on an existing lake")
    assert list(tmp_path.iterdir()) == []  # no ledger, no lock folder, no lake


@contextmanager
def read_only(folder: Path):
    """`folder` made read-only even for root: a read-only bind mount, else the immutable flag,
    else (not root) plain permissions."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield "permissions"
        finally:
            folder.chmod(0o755)
        return
    mount = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
    if mount.returncode == 0:
        try:
            yield "read-only bind mount"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    flag = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if flag.returncode == 0:
        try:
            yield "immutable flag"
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    pytest.skip(f"cannot make a folder read-only for root here: mount said {mount.stderr.decode().strip()!r}, "
                f"chattr said {flag.stderr.decode().strip()!r}")


@pytest.mark.parametrize("stage", [["ingest"], ["clean"], ["maintain"], ["pipeline"]])
def test_a_read_only_lake_is_refused_and_left_as_it_was(stage, tmp_path, capsys, no_spark):
    root = tmp_path / "lake"
    (root / "bronze").mkdir(parents=True)
    (root / "bronze" / "kept.txt").write_text("old")
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    with read_only(root):
        assert not os.access(root, os.W_OK)
        assert main(stage + common(tmp_path)) == 2
        line = one_error(capsys)
    assert line.startswith(f"error: lake root {root} is read-only (no write permission, or a read-only file "
                           f"system): `crosslake {stage[0]}` writes tables there"), line
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]  # no corpus generated either


# -- time travel and change-feed mistakes on a real table --------------------------------------
@pytest.fixture(scope="module")
def two_versions(spark, tmp_path_factory):
    """A lake whose table silver (change feed on) has versions 0 and 1, a second apart."""
    root = tmp_path_factory.mktemp("time_travel") / "lake"
    cfg = load_config("test", lake_root=str(root))
    schema = "review_id string, split string, text string"
    lake.write_table(spark.createDataFrame([("1", "train", "a"), ("2", "test", "b")], schema), cfg, "silver",
                     mode="overwrite")
    time.sleep(1.1)
    lake.write_table(spark.createDataFrame([("1", "train", "a2"), ("2", "test", "b")], schema), cfg, "silver",
                     mode="sync")
    from delta.tables import DeltaTable

    commits = DeltaTable.forPath(spark, cfg.table_path("silver")).history().orderBy("version").collect()
    assert [c.version for c in commits] == [0, 1]
    return root, commits


@pytest.mark.parametrize("case", ["before_first_commit", "after_latest_commit", "since_past_latest",
                                  "version_past_latest"])
def test_time_travel_mistakes_are_one_line(case, two_versions, capsys):
    root, (first, last) = two_versions
    argv = {"before_first_commit": ["show", "silver", "--timestamp", "2000-01-01 00:00:00"],
            "after_latest_commit": ["show", "silver", "--timestamp", "2999-01-01"],
            "since_past_latest": ["changes", "silver", "--since", "99"],
            "version_past_latest": ["show", "silver", "--version", "99"]}[case]
    expected = {
        "before_first_commit": f"error: table 'silver' did not exist yet at 2000-01-01 00:00:00: its first commit "
                               f"(version 0) is at {first.timestamp:%Y-%m-%d %H:%M:%S} UTC; use a timestamp at or "
                               f"after it",
        "after_latest_commit": f"error: timestamp 2999-01-01 is after table 'silver''s latest commit (version 1 at "
                               f"{last.timestamp:%Y-%m-%d %H:%M:%S} UTC)",
        "since_past_latest": "error: changes since version 99: table 'silver' has versions 0..1 (1 is its latest)",
        "version_past_latest": "error: table 'silver' has versions 0..1; version 99 does not exist",
    }[case]
    assert main(["tables", *argv, "--profile", "test", "--lake-root", str(root)]) == 2
    line = one_error(capsys)
    assert line.startswith(expected), line
    # the mistake changed nothing: the table is still at its two versions
    assert main(["tables", "history", "silver", "--profile", "test", "--lake-root", str(root)]) == 0
    history = capsys.readouterr().out
    assert "      1  " in history and "      2  " not in history


def test_a_read_only_folder_inside_the_lake_is_named_as_storage(tmp_path):
    """The root is checked up front; a folder under it that cannot be written is recognised
    as a storage failure (one line, exit 1) wherever it is found, not a traceback."""
    from crosslake.errors import storage_failure

    inner = tmp_path / "lake" / "_ledger"
    inner.mkdir(parents=True)
    with read_only(inner) as how:
        with pytest.raises(OSError) as caught:
            (inner / "runs").mkdir()
    expected = "the lake's file system is read-only" if how == "read-only bind mount" else \
        "a folder of the lake cannot be written (permission denied)"
    assert storage_failure(caught.value) == expected, (how, caught.value)
    assert storage_failure(ValueError("permission denied for table loans")) is None  # a database's own words
