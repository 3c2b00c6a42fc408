"""infra/k8s: every manifest validates against the Kubernetes OpenAPI schema (kubernetes-validate,
schemas bundled in the package: no network), and agrees with the code it deploys."""
from __future__ import annotations

import pytest
import yaml

from services.config import Settings
from services.model.serve import resolve
from tests.support.paths import repo_root
from tests.support.require import require_module

K8S = repo_root() / "infra" / "k8s"
VERSIONS = ["1.29.0", "latest"]  # oldest we claim, newest bundled


@pytest.fixture(scope="module")
def kubernetes_validate():
    return require_module("kubernetes_validate", "pip install -e '.[dev]' (kubernetes-validate)")


def schema_version(kubernetes_validate, version: str) -> str:
    return kubernetes_validate.latest_version() if version == "latest" else version


def load(path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifests() -> list:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def resources() -> dict[tuple[str, str], dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = [d for name in kustomization["resources"] for d in load(K8S / name)]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod(kind_name) -> dict:
    return resources()[("Deployment", kind_name)]["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_manifest_validates_against_the_kubernetes_schema(kubernetes_validate, path, version):
    docs = load(path)
    assert docs
    for doc in docs:  # raises ValidationError with the field
        kubernetes_validate.validate(doc, schema_version(kubernetes_validate, version), strict=True)


def test_a_schema_error_is_caught(kubernetes_validate):
    broken = load(K8S / "beat.yaml")[0]
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"path": "/x"}}  # no port
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, schema_version(kubernetes_validate, VERSIONS[-1]), strict=True)


def test_kustomization_applies_every_manifest_but_the_secret_example():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in manifests()} - {"secret.example.yaml"}


def test_api_probes_and_every_container_has_requests_and_runs_as_non_root():
    api = pod("api")["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for (kind, name), doc in resources().items():
        if kind not in ("Deployment", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), name
            assert c["resources"]["limits"]["memory"], name


def test_beat_is_one_replica_never_two():
    beat = resources()[("Deployment", "beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    scaled = {d["spec"]["scaleTargetRef"]["name"] for (kind, _), d in resources().items()
              if kind == "HorizontalPodAutoscaler"}
    assert "beat" not in scaled


def test_workers_scale_on_their_own_queue_and_finish_tasks_on_scale_down():
    from workers.app import celery_app

    hpas = {n: d for (k, n), d in resources().items() if k == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"worker", "worker-actions"}
    consumed = set()
    for name, hpa in hpas.items():
        args = pod(name)["containers"][0]["args"]
        queues = args[args.index("--queues") + 1].split(",")
        consumed.update(queues)
        (metric,) = hpa["spec"]["metrics"]
        assert metric["external"]["metric"]["name"] == "workmode_queue_depth"
        assert metric["external"]["metric"]["selector"]["matchLabels"]["queue"] in queues
        assert pod(name)["terminationGracePeriodSeconds"] > Settings().task_time_limit_s
    assert consumed == {q.name for q in celery_app.conf.task_queues}


def test_the_model_deployment_asks_for_the_gpus_its_preset_uses():
    vllm = pod("vllm")
    container = vllm["containers"][0]
    config = resources()[("ConfigMap", "workmode-vllm-config")]["data"]
    assert container["args"] == ["--preset", "$(WORKMODE_VLLM_PRESET)"]
    chosen = resolve(config["WORKMODE_VLLM_PRESET"], config)
    gpus = container["resources"]["limits"]["nvidia.com/gpu"]
    assert int(gpus) == chosen.tensor_parallel_size == 4
    assert container["resources"]["requests"]["nvidia.com/gpu"] == gpus
    assert {p["httpGet"]["path"] for p in (container["startupProbe"], container["readinessProbe"])} == {"/health"}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/models", "/dev/shm"} <= mounts
    app = resources()[("ConfigMap", "workmode-config")]["data"]
    assert app["WORKMODE_MODEL_BASE_URL"].startswith("http://vllm:")
    assert app["WORKMODE_MODEL_NAME"] == chosen.served_model_name
