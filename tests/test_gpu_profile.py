"""The `gpu` profile (spark-rapids) resolves: its jar is there with a shim for the pinned Spark,
its settings agree with each other, and no CPU profile carries GPU resource settings.

No GPU runs here: this machine has none, and the 1 GB jar is not carried to a lent one."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import zipfile
from pathlib import Path

import pyspark
import pytest

from crosslake.config import load_config
from crosslake.session import local_jars

ROOT = Path(__file__).resolve().parents[1]
GPU_KEYS = re.compile(r"^spark\.(driver|executor|task)\.resource\.|^spark\.rapids\.")


def _size_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.lower()).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_the_gpu_profile_puts_a_rapids_jar_with_a_shim_for_our_spark_on_the_classpath():
    cfg = load_config("onprem-gpu,gpu")
    rapids = [j for j in local_jars(cfg.spark.extra_jars) if "rapids-4-spark" in Path(j).name]
    assert len(rapids) == 1, rapids
    # Same Scala line as the pyspark wheel's own jars.
    scala = {m.group(1) for p in (Path(pyspark.__file__).parent / "jars").glob("spark-core_*.jar")
             if (m := re.match(r"spark-core_(\d+\.\d+)-", p.name))}
    assert scala == {re.search(r"_(\d+\.\d+)-", Path(rapids[0]).name).group(1)}

    with zipfile.ZipFile(rapids[0]) as jar:
        names = jar.namelist()
    plugin = cfg.spark.conf["spark.plugins"]
    assert plugin.replace(".", "/") + ".class" in names
    shim = "spark" + pyspark.__version__.replace(".", "")          # spark401 for pyspark 4.0.1
    shims = sorted({n.split("/")[0] for n in names if re.match(r"spark\d{3}/", n)})
    assert shim in shims, f"{Path(rapids[0]).name} has no shim for Spark {pyspark.__version__}: {shims}"
    # Delta on the GPU needs the plugin's Delta module for our Delta line (4.0.x).
    assert any(n.startswith(f"{shim}/META-INF/maven/com.nvidia/rapids-4-spark-delta-40x") for n in names)


def test_the_gpu_settings_agree_with_each_other():
    conf = load_config("onprem-gpu,gpu").spark.conf
    executor_gpus = float(conf["spark.executor.resource.gpu.amount"])
    task_share = float(conf["spark.task.resource.gpu.amount"])
    cores = int(conf["spark.executor.cores"])
    assert executor_gpus == int(executor_gpus) >= 1
    assert 0 < task_share <= 1
    # Tasks that fit on the executor's GPUs = tasks its cores can run: neither idles the other.
    assert executor_gpus / task_share == cores
    assert 1 <= int(conf["spark.rapids.sql.concurrentGpuTasks"]) <= cores

    pool = ("minAllocFraction", "allocFraction", "maxAllocFraction")
    fractions = [float(conf[f"spark.rapids.memory.gpu.{k}"]) for k in pool]
    assert fractions == sorted(fractions) and fractions[0] > 0
    assert 1 - fractions[-1] >= 0.4, "RAPIDS' pool must leave GPU memory for PyTorch"
    assert _size_bytes(conf["spark.rapids.memory.pinnedPool.size"]) < _size_bytes(conf["spark.executor.memoryOverhead"])
    assert conf["spark.rapids.sql.explain"] in {"NOT_ON_GPU", "ALL"}

    # The discovery script the settings name is the one the image installs at that path.
    script = conf["spark.executor.resource.gpu.discoveryScript"]
    dockerfile = (ROOT / "k8s/image/Dockerfile").read_text()
    assert re.search(rf"^COPY .*k8s/image/gpu-discovery.sh {re.escape(script)}$", dockerfile, re.M), script
    assert os.access(ROOT / "k8s/image/gpu-discovery.sh", os.X_OK)


@pytest.mark.parametrize("profile", ["local", "test", "cloud-cpu", "onprem-gpu", "cloud-cpu,test"])
def test_cpu_profiles_carry_no_gpu_settings(profile):
    cfg = load_config(profile)
    assert cfg.spark.extra_jars == []
    assert not [k for k in cfg.spark.conf if GPU_KEYS.search(k)], "GPU resource settings hang local mode"
    assert "nvidia" not in str(cfg.spark.conf.get("spark.plugins", "")).lower()


def test_the_discovery_script_reports_the_gpus_nvidia_smi_lists(tmp_path):
    script = ROOT / "k8s/image/gpu-discovery.sh"

    def discover(listing: str | None) -> dict:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        fake = bin_dir / "nvidia-smi"
        fake.unlink(missing_ok=True)
        if listing is not None:
            # A stand-in for the driver's tool: this machine has no GPU (see the module docstring).
            fake.write_text(f"#!/bin/sh\nprintf '{listing}'\n")
            fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        out = subprocess.run([str(script)], env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    assert discover("0\n1\n") == {"name": "gpu", "addresses": ["0", "1"]}
    assert discover("0\n") == {"name": "gpu", "addresses": ["0"]}
    assert discover(None) == {"name": "gpu", "addresses": []}
