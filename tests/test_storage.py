"""The object store under the lake (crosslake/storage.py) against a real S3-compatible
server (moto) on loopback: the model store and registry work there as on a local disk,
and credentials come only from the environment."""

from __future__ import annotations

import os

import pytest
import torch

from crosslake import storage
from crosslake.errors import CrosslakeError
from tests import s3
from tests.test_train import SPEC, order_task
from train import registry
from train.model import TextCNN
from train.store import load_model, save_model, versions


@pytest.fixture(scope="module")
def store(s3_server):
    server = s3_server.fresh("storage")
    with s3.environment(server.env()):
        yield server


def test_model_store_and_registry_on_object_storage(store):
    uri = store.uri("lake/models")
    model = TextCNN(SPEC).eval()
    v1, path = save_model(uri, "m", model, {"good": 2}, {"data": {"gold_version": 4}})
    v2, _ = save_model(uri, "m", model, {"good": 2}, {})
    assert (v1, v2) == (1, 2) and versions(uri, "m") == [1, 2] and path == f"{uri}/m/v1"
    assert "lake/models/m/v1/model.safetensors" in store.keys("lake/models/")
    loaded = load_model(uri, "m", 1)
    ids = order_task(4, 1)[0]
    assert torch.equal(loaded.model(ids), model(ids)) and loaded.metadata["data"]["gold_version"] == 4
    registry.set_alias(uri, "m", "production", 1)
    registry.record_decision(uri, "m", {"action": "promote", "candidate": 1})
    registry.record_decision(uri, "m", {"action": "promote", "candidate": 2})
    assert registry.resolve(uri, "m", None) == 1
    assert [d["candidate"] for d in registry.decisions(uri, "m")] == [1, 2]  # appended, not replaced


def test_a_tampered_object_is_refused_by_checksum(store):
    uri = store.uri("lake/tamper")
    save_model(uri, "m", TextCNN(SPEC), {}, {})
    key = "lake/tamper/m/v1/model.safetensors"
    client = store.client()
    data = bytearray(client.get_object(Bucket=store.bucket, Key=key)["Body"].read())
    data[-5] ^= 0xFF
    client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
    with pytest.raises(CrosslakeError, match="does not match the checksum"):
        load_model(uri, "m")


def test_missing_credentials_are_named_and_never_read_from_config(store, monkeypatch):
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CrosslakeError, match="AWS_SECRET_ACCESS_KEY is not set"):
        storage.Location(store.uri("lake"))
    with pytest.raises(CrosslakeError, match="AWS_SECRET_ACCESS_KEY is not set"):
        storage.spark_settings(store.uri("lake"), storage.StorageConfig())


def test_spark_gets_the_endpoint_but_not_the_keys(store):
    settings = storage.spark_settings(store.uri("lake"), storage.StorageConfig())
    assert settings["spark.hadoop.fs.s3a.endpoint"] == store.endpoint
    assert settings["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert "EnvironmentVariableCredentialsProvider" in settings["spark.hadoop.fs.s3a.aws.credentials.provider"]
    assert not any(os.environ["AWS_SECRET_ACCESS_KEY"] in v or os.environ["AWS_ACCESS_KEY_ID"] in v
                   for v in settings.values())
    assert storage.spark_settings("/local/lake", storage.StorageConfig()) == {}


def test_each_profile_keeps_its_own_store_settings(store):
    """Loading a second profile in one process (two clusters in one notebook) changes
    nothing of the first's: its model store keeps its own region and endpoint settings."""
    from crosslake.config import load_config

    lake = store.uri("lake")
    first = load_config("test", lake_root=lake, overrides=["storage.region=eu-west-1"])
    second = load_config("test", lake_root=lake, overrides=["storage.region=ap-south-1"])
    assert first.model_store.settings.region == "eu-west-1"
    assert second.model_store.settings.region == "ap-south-1"
    assert (first.model_store / "m" / "v1").settings.region == "eu-west-1"
    assert storage.spark_settings(lake, first.storage)["spark.hadoop.fs.s3a.endpoint.region"] == "eu-west-1"
