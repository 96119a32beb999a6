"""Where the lake lives: a local folder, or a bucket on S3-compatible object storage.

A lake root of ``s3a://bucket/prefix`` puts every Delta table there (Spark reaches it
through hadoop-aws) and the model store too (read and written here with pyarrow's S3
client, so that plain Python, not only Spark, can load a model). That bucket is the
only thing the training and the scoring clusters share.

Credentials come only from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
optionally AWS_SESSION_TOKEN) or from mounted secret files (crosslake/secrets.py): never
from conf/, and never written anywhere. The
endpoint of a non-AWS store (MinIO, Ceph, moto) is ``storage.endpoint`` in conf/ or
AWS_ENDPOINT_URL in the environment.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from crosslake import secrets
from crosslake.errors import CrosslakeError

if TYPE_CHECKING:
    from pyarrow import fs as pafs

REMOTE_SCHEMES = ("s3a", "s3")
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
ENDPOINT_ENV = "AWS_ENDPOINT_URL"


def check_reachable(master: str, path: str, *, what: str, setting: str, shared: list[str]) -> None:
    """Refuse a local `path` that the executors of a cluster master must read or write.

    Under local[...] the executors are threads of this JVM and see this machine's disk. On a
    cluster they run on other nodes, which see a local folder only if it is a mount shared at
    the same path (cluster.shared_paths); object storage (s3a://) every node reaches."""
    if master.startswith("local") or is_remote(path):
        return
    local = os.path.abspath(urlparse(path).path if path.startswith("file:") else path)
    if any(local == s or local.startswith(s.rstrip("/") + "/") for s in map(os.path.abspath, shared)):
        return
    from crosslake.errors import ConfigError

    raise ConfigError(
        f"{what} {path} is a folder on this machine, but the executors of {master} run on other nodes, "
        f"which cannot see it: set {setting} to object storage (s3a://...) or to a folder every node "
        f"mounts at the same path, and declare that mount: --set 'cluster.shared_paths=[<the mount point>]'")


@dataclass(frozen=True)
class StorageConfig:
    endpoint: str | None = None    # http(s)://host:port of an S3-compatible server; None: AWS itself
    region: str = "us-east-1"
    path_style: bool = True        # bucket in the path, not the host name (MinIO, moto, Ceph)


def endpoint(settings: StorageConfig) -> str | None:
    return os.environ.get(ENDPOINT_ENV) or settings.endpoint


def is_remote(uri: str) -> bool:
    return urlparse(str(uri)).scheme in REMOTE_SCHEMES


def require_credentials(uri: str) -> None:
    secrets.export(*CREDENTIAL_ENV, "AWS_SESSION_TOKEN")  # mounted secret files -> this process's environment
    missing = [name for name in CREDENTIAL_ENV if not os.environ.get(name)]
    if missing:
        raise CrosslakeError(f"{uri} is on object storage but {' and '.join(missing)} "
                             f"{'is' if len(missing) == 1 else 'are'} not set: export the store's credentials "
                             f"in the environment or mount them as secret files ({secrets.where(missing[0])}); "
                             f"they are never read from conf/")


def spark_settings(lake_root: str, settings: StorageConfig) -> dict[str, str]:
    """Hadoop S3A settings for a lake on object storage (none for a local lake). Credentials
    are left to the environment provider: they never enter Spark's configuration."""
    if not is_remote(lake_root):
        return {}
    require_credentials(lake_root)
    out = {
        # This process's environment first; then, on a cluster's executors (which do not get the
        # driver's environment), the credentials file the node's own environment names in
        # AWS_SHARED_CREDENTIALS_FILE (a mounted secret). Neither puts a key in Spark's settings.
        "spark.hadoop.fs.s3a.aws.credentials.provider":
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider,"
            "software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider",
        "spark.hadoop.fs.s3a.path.style.access": str(settings.path_style).lower(),
        "spark.hadoop.fs.s3a.endpoint.region": settings.region,
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",  # s3:// spelled as s3a://
    }
    if (url := endpoint(settings)) is not None:
        out["spark.hadoop.fs.s3a.endpoint"] = url
        out["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(url.startswith("https")).lower()
    return out


class Location:
    """A folder on the local disk or in a bucket, with the few operations the model store
    needs. Whole-object writes: a reader sees the old content or the new, never half."""

    def __init__(self, uri: str | Location, settings: StorageConfig | None = None):
        from pyarrow import fs as pafs

        # The store's settings travel with the location (a Location below another keeps its
        # parent's): two profiles loaded in one process never share, or overwrite, them.
        if settings is None:
            settings = uri.settings if isinstance(uri, Location) else StorageConfig()
        self.settings = settings
        self.uri = str(uri).rstrip("/")
        parsed = urlparse(self.uri)
        if parsed.scheme in REMOTE_SCHEMES:
            require_credentials(self.uri)
            url = endpoint(settings)
            kwargs = {"region": settings.region}
            if url:
                target = urlparse(url)
                kwargs.update(endpoint_override=target.netloc, scheme=target.scheme or "https")
            self.fs: pafs.FileSystem = pafs.S3FileSystem(**kwargs)
            self.path = f"{parsed.netloc}{parsed.path}".rstrip("/")
            self.remote = True
        else:
            self.fs = pafs.LocalFileSystem()
            self.path = self.uri.removeprefix("file:")
            self.remote = False

    def __truediv__(self, name: str) -> Location:
        return Location(f"{self.uri}/{name}", self.settings)

    def __str__(self) -> str:
        return self.uri

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def _info(self) -> pafs.FileInfo:
        try:
            return self.fs.get_file_info(self.path)
        except OSError as exc:
            raise CrosslakeError(f"cannot reach {self.uri}: {exc}") from exc

    def is_file(self) -> bool:
        from pyarrow import fs as pafs

        return self._info().type == pafs.FileType.File

    def is_dir(self) -> bool:
        from pyarrow import fs as pafs

        return self._info().type == pafs.FileType.Directory

    def children(self) -> list[str]:
        """Names directly inside this folder (empty if it does not exist)."""
        from pyarrow import fs as pafs

        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True))
        except OSError as exc:
            raise CrosslakeError(f"cannot list {self.uri}: {exc}") from exc
        return sorted(posixpath.basename(i.path) for i in infos)

    def read_bytes(self) -> bytes:
        try:
            with self.fs.open_input_stream(self.path) as stream:
                return stream.read()
        except FileNotFoundError as exc:
            raise CrosslakeError(f"{self.uri} does not exist") from exc
        except OSError as exc:
            raise CrosslakeError(f"cannot read {self.uri}: {exc}") from exc

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    def write_bytes(self, data: bytes) -> None:
        """Replace the object whole: on disk through a temporary file and a rename; on object
        storage a PUT is already all-or-nothing."""
        try:
            if self.remote:
                with self.fs.open_output_stream(self.path) as out:
                    out.write(data)
                return
            os.makedirs(posixpath.dirname(self.path), exist_ok=True)
            tmp = f"{posixpath.dirname(self.path)}/.{self.name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as out:
                out.write(data)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise CrosslakeError(f"cannot write {self.uri}: {exc}") from exc

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def claim(self) -> bool:
        """Create this folder if nobody has; False if it exists. Atomic on a local disk;
        on object storage (no folders, no create-if-absent) it relies on the single-writer
        rule: only the cluster that owns the model store ever writes it."""
        if self.remote:
            if self.children():
                return False
            self.fs.create_dir(self.path)
            return True
        os.makedirs(posixpath.dirname(self.path), exist_ok=True)
        try:
            os.mkdir(self.path)
            return True
        except FileExistsError:
            return False
