"""The object store stops in the middle of a Delta write and in the middle of a model upload.

The store is a real S3-compatible server (moto) behind a link the test cuts at an exact
request (tests/faults/link.py). Each case: the job fails with one clear line, the table or
model is left as it was (checked row for row, version for version), and running again
once the link is back completes with exactly the rows an undisturbed run holds.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import torch

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError, storage_failure
from jobs import generate, ingest
from tests import s3
from tests.faults.link import CuttableLink
from tests.test_train import SPEC, order_task
from train.model import TextCNN
from train.store import load_model, save_model, versions

BUCKET = "faults"   # its own bucket: the S3A settings below apply to it alone
# Fail fast while the link is down: one attempt per request, short timeouts (S3A's defaults
# retry for minutes, which is right for a real outage and wrong for a test).
FAST_FAIL = {"attempts.maximum": "1", "retry.limit": "1", "retry.interval": "50ms", "retry.throttle.limit": "1",
             "connection.establish.timeout": "2000", "connection.timeout": "5000"}


@pytest.fixture(scope="module")
def store(spark, s3_server):
    server = s3.ObjectStore(s3_server.endpoint, BUCKET)
    server.client().create_bucket(Bucket=BUCKET)  # its own bucket on the session's server
    link = CuttableLink(urlparse(server.endpoint).port)
    through = s3.ObjectStore(link.endpoint, BUCKET)
    with s3.environment(through.env()):
        s3.attach(spark, through)
        conf = spark.sparkContext._jsc.hadoopConfiguration()
        for key, value in FAST_FAIL.items():
            conf.set(f"fs.s3a.bucket.{BUCKET}.{key}", value)
        yield server, link
    link.close()


def _corpus(tmp_path, lake_root: str, train: int, test: int):
    cfg = load_config("test", lake_root=lake_root, overrides=[
        f"source.path={tmp_path / 'aclImdb'}", f"generate.train={train}", f"generate.test={test}", "generate.unsup=0"])
    generate.run(None, cfg)
    return cfg, sorted(p for p in (tmp_path / "aclImdb").rglob("*") if p.is_file() and p.parent.name in ("pos", "neg"))


def _bronze_ids(spark, cfg) -> list[str]:
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()   # what a new process would read
    return sorted(r.source_path for r in spark.read.format("delta").load(cfg.table_path("bronze"))
                  .select("source_path").collect())


def test_store_stops_mid_delta_write_then_rerun_completes(spark, store, tmp_path, capsys):
    server, link = store
    root = f"s3a://{BUCKET}/lake-{tmp_path.name}"
    cfg, files = _corpus(tmp_path, root, 30, 20)
    args = ["--profile", "test", "--lake-root", root, "--set", f"source.path={tmp_path / 'aclImdb'}"]
    table = cfg.table_path("bronze").removeprefix(f"s3a://{BUCKET}/")   # the table's key prefix

    # 1. the store goes away while the first data file of a new table is being uploaded
    link.cut_on(f"PUT /{BUCKET}/{table}/part-".encode())
    assert ingest.main(args) == 1
    err = capsys.readouterr().err
    assert link.cut_at.startswith(f"PUT /{BUCKET}/{table}/part-".encode()), link.cut_at
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "table 'bronze'" in lines[0] and "object store" in lines[0]
    assert "nothing of this run was committed" in lines[0]
    link.restore()
    assert not lake.exists(spark, cfg.table_path("bronze"))   # no half-made table: no commit, no table
    assert not [k for k in server.keys(f"{table}/_delta_log/") if k.endswith(".json")]

    assert ingest.main(args) == 0
    expected = _bronze_ids(spark, cfg)
    assert len(expected) == len(files) == len(set(expected))

    # 2. more reviews arrive; the store goes away exactly when the next commit is written
    more = tmp_path / "aclImdb" / "train" / "pos"
    for i in range(5):
        (more / f"{90_000 + i}_9.txt").write_text(f"an added review number {i}, quite good")
    link.cut_on(f"PUT /{BUCKET}/{table}/_delta_log/{1:020d}.json".encode())
    assert ingest.main(args) == 1
    err = capsys.readouterr().err
    assert link.cut_at.startswith(f"PUT /{BUCKET}/{table}/_delta_log/{1:020d}.json".encode()), link.cut_at
    assert "Traceback" not in err and "object store" in err
    link.restore()
    assert lake.current_version(spark, cfg.table_path("bronze")) == 0
    assert _bronze_ids(spark, cfg) == expected                       # exactly the rows of before

    assert ingest.main(args) == 0
    after = _bronze_ids(spark, cfg)
    added = sorted(p.rsplit("/", 1)[-1] for p in set(after) - set(expected))
    assert len(after) == len(set(after)) == len(expected) + 5 and set(expected) <= set(after)
    assert added == [f"{90_000 + i}_9.txt" for i in range(5)]
    assert lake.current_version(spark, cfg.table_path("bronze")) == 1


@pytest.mark.parametrize("cut_file", ["model.safetensors", "metadata.json"])
def test_store_stops_mid_model_upload_then_rerun_completes(store, tmp_path, cut_file):
    server, link = store
    uri = f"s3a://{BUCKET}/models-{tmp_path.name}"
    torch.manual_seed(1)
    v1 = TextCNN(SPEC).eval()
    assert save_model(uri, "m", v1, {"good": 2}, {})[0] == 1
    candidate = TextCNN(SPEC).eval()

    link.cut_on(f"/{BUCKET}/models-{tmp_path.name}/m/v2/{cut_file}".encode())
    with pytest.raises(CrosslakeError, match=rf"cannot write s3a://{BUCKET}/.*/m/v2/{cut_file}") as failed:
        save_model(uri, "m", candidate, {"good": 2}, {})
    assert "\n" not in str(failed.value)
    link.restore()
    # the half-uploaded version is invisible: v1 is still the latest, and it loads intact
    assert versions(uri, "m") == [1]
    ids = order_task(4, 1)[0]
    assert torch.equal(load_model(uri, "m").model(ids), v1(ids))

    version, _ = save_model(uri, "m", candidate, {"good": 2}, {})
    assert version == 3 and versions(uri, "m") == [1, 3]   # v2's claimed folder is never reused
    reloaded = load_model(uri, "m")
    assert reloaded.version == 3 and torch.equal(reloaded.model(ids), candidate(ids))
    assert f"models-{tmp_path.name}/m/v3/metadata.json" in server.keys(f"models-{tmp_path.name}/")


def test_only_storage_failures_are_called_storage_failures():
    s3a = "java.net.SocketException: Connection reset\n\tat org.apache.hadoop.fs.s3a.S3AFileSystem.putObject"
    assert storage_failure(RuntimeError(s3a)) == "the connection to the object store was cut (connection reset)"
    assert storage_failure(RuntimeError("java.io.IOException: No space left on device")) == "the disk is full"
    # the same words from a dying Python worker, or from no S3 client at all, are not the store's
    assert storage_failure(RuntimeError(f"Python worker exited unexpectedly (crashed)\n{s3a}")) is None
    assert storage_failure(RuntimeError("java.net.SocketException: Connection reset")) is None
    assert storage_failure(ValueError("a bug")) is None
