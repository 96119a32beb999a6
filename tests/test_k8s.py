"""k8s/: every overlay renders with the real kustomize, every resource (and every Spark pod
template inside a ConfigMap) passes the Kubernetes schema strictly, and the manifests keep the
promises the project makes: non-root, read-only root filesystem, limits, secrets by reference,
GPUs only on the GPU cluster, and each cluster running only the jobs its roles allow."""

from __future__ import annotations

import copy
import importlib
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from crosslake.cli import STAGES
from crosslake.config import load_config

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = sorted(p.name for p in (ROOT / "k8s/overlays").iterdir() if p.is_dir())
# The Kubernetes release the manifests are checked against (kubernetes-validate ships its schemas).
K8S_VERSION = "1.33.0"
GPU_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-[0-9a-z.]+)$")


def _render(overlay: str) -> list[dict]:
    done = subprocess.run(
        [str(ROOT / ".tools/bin/kustomize"), "build", "--load-restrictor", "LoadRestrictionsNone",
         str(ROOT / "k8s/overlays" / overlay)], capture_output=True, text=True)
    assert done.returncode == 0, f"kustomize failed for {overlay}: {done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request):
    return request.param, _render(request.param)


def _one(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _spark_files(docs: list[dict]) -> dict[str, str]:
    return _one(docs, "ConfigMap", "crosslake-spark")["data"]


def _pod_templates(docs: list[dict]) -> dict[str, dict]:
    return {name: yaml.safe_load(text) for name, text in _spark_files(docs).items() if name.endswith(".yaml")}


def _pod_specs(docs: list[dict]) -> dict[str, dict]:
    """Every pod spec the overlay creates: CronJob and Deployment pods and Spark's pod templates."""
    specs = {}
    for d in docs:
        if d["kind"] == "CronJob":
            specs[f"CronJob/{d['metadata']['name']}"] = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif d["kind"] == "Deployment":
            specs[f"Deployment/{d['metadata']['name']}"] = d["spec"]["template"]["spec"]
    specs.update({f"template/{n}": t["spec"] for n, t in _pod_templates(docs).items()})
    return specs


def _spark_settings(docs: list[dict]) -> dict[str, str]:
    """What a job's driver ends up with: spark-defaults.conf, then cluster.conf over it
    (--load-spark-defaults), then the crosslake profile for what neither sets."""
    settings: dict[str, str] = {}
    for name in ("spark-defaults.conf", "cluster.conf"):
        for line in _spark_files(docs)[name].splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, value = line.split(None, 1)
                settings[key] = value.strip()
    profile = _one(docs, "ConfigMap", "crosslake-env")["data"]["CROSSLAKE_PROFILE"]
    for key, value in load_config(profile).spark.conf.items():
        settings.setdefault(key, str(value))
    return settings


def test_every_resource_and_pod_template_passes_the_kubernetes_schema(rendered):
    overlay, docs = rendered
    assert docs, overlay
    for doc in [*docs, *_pod_templates(docs).values()]:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest(rendered):
    """The check above has teeth: a misspelt field and a wrong type are refused."""
    _, docs = rendered
    cronjob = copy.deepcopy(next(d for d in docs if d["kind"] == "CronJob"))
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, K8S_VERSION, strict=True)
    cronjob = copy.deepcopy(next(d for d in docs if d["kind"] == "CronJob"))
    cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "twice"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, K8S_VERSION, strict=True)


def test_pods_run_as_non_root_on_a_read_only_root_filesystem_with_limits(rendered):
    overlay, docs = rendered
    settings = _spark_settings(docs)
    for where, spec in _pod_specs(docs).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            if not where.startswith("template/"):
                assert {"cpu", "memory"} <= set(c["resources"]["limits"]), where
        # What a read-only root needs to be writable is an emptyDir at /tmp.
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        assert any(m["mountPath"] == "/tmp" and m["name"] in tmp for c in spec["containers"]
                   for m in c["volumeMounts"]), where
    # Spark sets executor CPU and memory limits itself, from these settings.
    assert "spark.kubernetes.executor.limit.cores" in settings and "spark.executor.memory" in settings


def test_secrets_are_referenced_never_shipped(rendered):
    overlay, docs = rendered
    secret_like = re.compile(r"KEY|SECRET|PASSWORD|TOKEN")
    assert not [d for d in docs if d["kind"] == "Secret"]
    assert not [k for k in _one(docs, "ConfigMap", "crosslake-env")["data"] if secret_like.search(k)]
    for where, spec in _pod_specs(docs).items():
        refs = [e["secretRef"]["name"] for c in spec["containers"] for e in c.get("envFrom", []) if "secretRef" in e]
        assert refs == ["crosslake-object-store"], where
        literal = [e["name"] for c in spec["containers"] for e in c.get("env", []) if "value" in e]
        assert not [name for name in literal if secret_like.search(name)], where


def test_the_profiles_configmap_is_conf_itself(rendered):
    _, docs = rendered
    data = _one(docs, "ConfigMap", "crosslake-conf")["data"]
    assert data == {p.name: p.read_text() for p in sorted((ROOT / "conf").glob("*.yaml"))}


def test_each_cluster_runs_only_the_jobs_its_roles_allow_with_one_image(rendered):
    overlay, docs = rendered
    profile = _one(docs, "ConfigMap", "crosslake-env")["data"]["CROSSLAKE_PROFILE"]
    roles = set(load_config(profile).cluster.roles)
    image = _spark_settings(docs)["spark.kubernetes.container.image"]
    cronjobs = [d for d in docs if d["kind"] == "CronJob"]
    assert cronjobs
    for cj in cronjobs:
        (container,) = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == image, "executors must run the driver's image"
        assert container["command"][-1] == "local:///opt/crosslake/crosslake_submit.py"
        stage = container["args"][0]
        assert stage in STAGES, cj["metadata"]["name"]
        role = getattr(importlib.import_module(f"jobs.{stage}"), "ROLE", None)
        assert role is None or role in roles, f"{cj['metadata']['name']} ({role}) on {overlay} ({roles})"
    # The image puts the entry point and the profiles where the manifests expect them.
    dockerfile = (ROOT / "k8s/image/Dockerfile").read_text()
    assert "COPY dist/crosslake_submit.py /opt/crosslake/crosslake_submit.py" in dockerfile
    conf_mounts = {m["mountPath"] for spec in _pod_specs(docs).values() for c in spec["containers"]
                   for m in c["volumeMounts"] if m["name"] == "conf"}
    assert conf_mounts == {re.search(r"CROSSLAKE_CONF_DIR=(\S+)", dockerfile).group(1)}


def test_gpus_are_asked_for_on_the_gpu_clusters_only_and_in_one_way(rendered):
    overlay, docs = rendered
    settings = _spark_settings(docs)
    specs = _pod_specs(docs)
    asked = {where: sorted(k for c in spec["containers"] for k in c.get("resources", {}).get("limits", {})
                           if GPU_RESOURCE.match(k)) for where, spec in specs.items()}
    gpu_settings = sorted(k for k in settings if ".resource.gpu." in k or k.startswith("spark.rapids."))
    if overlay.startswith("cloud-cpu"):
        # (The profiles' ConfigMap carries every profile, conf/gpu.yaml included, unused here.)
        cluster_own = [d for d in docs if d["metadata"]["name"] != "crosslake-conf"]
        assert not any(asked.values()) and not gpu_settings and "nvidia" not in yaml.safe_dump_all(cluster_own)
        return
    # Training drivers get a GPU (whole or a MIG slice); the other jobs' pods do not.
    for where, resources in asked.items():
        if where.startswith("CronJob/"):
            trains = where.split("/")[1] in {"crosslake-train", "crosslake-pipeline", "crosslake-sweep"}
            assert bool(resources) == trains, where
    assert float(settings["spark.executor.resource.gpu.amount"]) >= 1
    assert settings["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    # Executors get their GPU either from Spark (vendor -> nvidia.com/gpu) or from the pod
    # template (a MIG slice); with both, Spark's would replace the template's.
    from_template = asked["template/executor-template.yaml"]
    from_vendor = settings.get("spark.executor.resource.gpu.vendor") == "nvidia.com"
    assert from_vendor != bool(from_template), (overlay, from_template)
    if overlay.endswith("-mig"):
        assert from_template and all(r.startswith("nvidia.com/mig-") for r in from_template)
