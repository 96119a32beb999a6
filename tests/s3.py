"""A real S3-compatible server on loopback for tests: moto in server mode (it speaks the
S3 HTTP API; Spark's s3a connector and pyarrow's S3 client talk to it as to any store),
started in its own process, with one bucket, and stopped afterwards.

tests/conftest.py starts one per test session (`s3_server`, on first use); each test
module gets a fresh bucket on it (`ObjectStore.fresh("name")`)."""

from __future__ import annotations

import os
import subprocess
import sys
import itertools
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from tests.postgres import _free_port

# Test-only credentials: moto accepts any; these exist so that a leak can be searched for.
ACCESS_KEY, SECRET_KEY = "crosslake-test-access", "crosslake-test-secret-never-logged"


@dataclass
class ObjectStore:
    endpoint: str
    bucket: str

    def env(self) -> dict[str, str]:
        """What a process on either cluster needs to reach the store: nothing else is shared."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1"}

    def uri(self, prefix: str) -> str:
        return f"s3a://{self.bucket}/{prefix}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")

    def fresh(self, name: str) -> "ObjectStore":
        """A new, empty bucket on the same server (named `name-N`)."""
        store = ObjectStore(self.endpoint, f"{name}-{next(_numbers)}")
        store.client().create_bucket(Bucket=store.bucket)
        return store

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


_numbers = itertools.count(1)


@contextmanager
def running(bucket: str = "crosslake") -> Iterator[ObjectStore]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = ObjectStore(f"http://127.0.0.1:{port}", bucket)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(store.endpoint, timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto server did not start on port {port}") from None
                time.sleep(0.2)
        store.client().create_bucket(Bucket=bucket)
        yield store
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (for in-process code), then restore them."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def attach(spark, store: ObjectStore) -> None:
    """Let this test process's own SparkSession read (and, for set-up, write) the bucket.

    The jobs get S3A settings from crosslake/storage.py and credentials from their
    environment; the session shared by the tests started before the server existed, so the
    test sets the bucket's endpoint and test credentials on its Hadoop configuration."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    prefix = f"fs.s3a.bucket.{store.bucket}."
    for key, value in {"endpoint": store.endpoint, "path.style.access": "true",
                       "connection.ssl.enabled": "false", "endpoint.region": "us-east-1",
                       "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                       "access.key": ACCESS_KEY, "secret.key": SECRET_KEY}.items():
        conf.set(prefix + key, value)
