"""A real Spark standalone cluster on loopback for tests: one master and N workers, each
its own JVM process started from the pyspark installation (`spark-class ...Master` /
`...Worker`: the wheel ships `sbin/spark-daemon.sh` but not `start-master.sh`), and
stopped afterwards.

Each worker has its own work and local folders and starts from a clean environment: no
AWS keys, no project virtual environment on its PATH, no CROSSLAKE_* variables; what an
executor needs must reach it the way a cluster's does (the application's settings, the
files it ships, the node's own installation). `Cluster.worker_env` says what that clean
environment holds.

    with standalone.running(root / "cluster", workers=2) as cluster:
        standalone.submit(standalone.bundle(root / "dist"), cwd, "pipeline", ..., master=cluster.url)

`bundle` builds what `make dist` builds; `submit` runs spark-submit of it, as the README's
cluster section does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.postgres import _free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def clean_env(**extra: str) -> dict[str, str]:
    """What a node's processes start with: the system PATH and Java, nothing of this session."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
           "SPARK_HOME": str(spark_home())}
    java = shutil.which("java")
    if os.environ.get("JAVA_HOME"):
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    elif java:
        env["JAVA_HOME"] = str(Path(os.path.realpath(java)).parents[1])
    return {**env, **extra}


@dataclass
class Cluster:
    root: Path
    workers: int = 2
    cores: int = 1
    memory: str = "2g"
    credentials: tuple[str, str] | None = None  # (access key, secret key): a mounted secret on each node
    port: int = 0
    ui_port: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def worker_dir(self, i: int) -> Path:
        return self.root / f"worker-{i}"

    def worker_env(self, i: int) -> dict[str, str]:
        env = clean_env(SPARK_LOCAL_DIRS=str(self.worker_dir(i) / "local"), SPARK_LOG_DIR=str(self.worker_dir(i) / "logs"))
        if self.credentials is not None:
            # as a node's admin sets it up: the secret is a file on the node, its environment names
            # the file (the AWS SDK's shared credentials file); no key in any environment or setting
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.worker_dir(i) / "secrets" / "aws-credentials")
        return env

    def _write_credentials(self, i: int) -> None:
        if self.credentials is None:
            return
        path = self.worker_dir(i) / "secrets" / "aws-credentials"
        path.parent.mkdir(parents=True, exist_ok=True)
        access, secret = self.credentials
        path.write_text(f"[default]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n")
        path.chmod(0o600)

    def _start(self, name: str, env: dict[str, str], *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root)
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 90) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port, self.ui_port = _free_port(), _free_port()
        self._start("master", clean_env(SPARK_LOG_DIR=str(self.root / "logs")),
                    "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
                    "--webui-port", str(self.ui_port))
        for i in range(self.workers):
            folder = self.worker_dir(i)
            (folder / "work").mkdir(parents=True, exist_ok=True)
            (folder / "local").mkdir(parents=True, exist_ok=True)
            self._write_credentials(i)
            self._start(f"worker-{i}", self.worker_env(i), "org.apache.spark.deploy.worker.Worker",
                        "--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
                        "--work-dir", str(folder / "work"), "--webui-port", str(_free_port()), self.url)
        deadline = time.time() + timeout
        while True:
            alive = self.alive_workers()
            if alive == self.workers:
                return self
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.time() > deadline:
                logs = "\n".join((self.root / f).read_text(errors="replace")[-1500:]
                                 for f in ("master.log", "worker-0.log") if (self.root / f).exists())
                self.stop()
                raise RuntimeError(f"standalone cluster did not come up ({alive} of {self.workers} workers):\n{logs}")
            time.sleep(0.5)

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as r:
            return json.loads(r.read())

    def alive_workers(self) -> int:
        try:
            return sum(w.get("state") == "ALIVE" for w in self.status().get("workers", []))
        except OSError:
            return 0

    def applications(self) -> list[dict]:
        s = self.status()
        return s.get("activeapps", []) + s.get("completedapps", [])

    def work_dirs(self) -> list[Path]:
        """Every application folder the workers made (one per application per worker)."""
        return sorted(p for i in range(self.workers) for p in (self.worker_dir(i) / "work").glob("app-*"))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@contextmanager
def running(root: Path, **kwargs) -> Iterator[Cluster]:
    cluster = Cluster(root, **kwargs).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def bundle(out: Path) -> Path:
    """`make dist` into `out`: the packages zipped for --py-files, the entry file, conf/, the jar list."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build_dist.sh"), str(out)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def submit(dist: Path, cwd: Path, *argv: str, options: tuple[str, ...] = (), master: str = "local[2]",
           node_jars: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """spark-submit the bundle's entry file with `argv` (a stage and its arguments);
    `options` go to spark-submit. node_jars: the jars are installed on every node (here:
    the setup step's .jars/, which every worker can read) and named by path, as the README's
    cluster section does, instead of sent with --jars."""
    from tests.helpers import submit_jvm_options

    jars = (dist / "jars.txt").read_text().strip()
    shipped = (["--driver-class-path", jars.replace(",", os.pathsep),
                "--conf", f"spark.executor.extraClassPath={Path(jars.split(',')[0]).parent}/*"]
               if node_jars else ["--jars", jars])
    cmd = [str(BIN / "spark-submit"), "--master", master, *submit_jvm_options(), *shipped, *options,
           "--py-files", str(dist / "crosslake.zip"), str(dist / "crosslake_submit.py"), *argv]
    env = {**os.environ, **(env or {}), "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONWARNINGS": "ignore::FutureWarning"}
    env.pop("CROSSLAKE_CONF_DIR", None)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)
