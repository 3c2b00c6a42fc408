"""infra/Dockerfile without a Docker engine: the runtime stage is non-root with no build tools,
what it copies exists, and `pip install .` (what the image does) carries every data file the
entry points read at run time (templates, migrations, static files)."""
from __future__ import annotations

import fnmatch
import re
import tomllib

import yaml

from tests.support.paths import repo_root

ROOT = repo_root()
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make ", "cargo", "rustc", "-dev ")


def stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "infra" / "Dockerfile").read_text())
    result: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if match:
            current = match.group(1)
            result[current] = []
        elif current:
            result[current].append(line)
    return result


def instruction(stage: list[str], name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in stage if line.split(None, 1)[0].upper() == name]


def test_runtime_stages_run_as_non_root_without_build_tools():
    all_stages = stages()
    for name in ("app", "model"):
        stage = all_stages[name]
        (user,) = instruction(stage, "USER")
        assert user.split(":")[0] not in ("root", "0"), name
        body = " ".join(instruction(stage, "RUN")) + " "
        assert not [t for t in BUILD_TOOLS if t in body], f"{name} installs build tools"
    assert 'ENTRYPOINT ["workmode"]' in all_stages["app"]
    assert 'ENTRYPOINT ["python3", "-m", "services.model.serve"]' in all_stages["model"]
    assert any("build-essential" in r for r in instruction(all_stages["build"], "RUN"))  # they stay in `build`
    assert instruction(all_stages["app"], "COPY") == ["--from=build /opt/venv /opt/venv"]


def test_compose_builds_stages_that_exist_from_files_that_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    targets = {s["build"]["target"] for s in compose["services"].values() if "build" in s}
    assert targets == {"app", "model"} and targets <= set(stages())
    for stage in stages().values():
        for copy in instruction(stage, "COPY"):
            if copy.startswith("--from"):
                continue
            for source in copy.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_no_secret_or_local_state_enters_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    assert not re.search(r"^(ENV|ARG)\s+\S*(SECRET|PASSWORD|TOKEN|API_KEY)", dockerfile, re.M | re.I)


def test_the_installed_package_carries_every_data_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["*"]
    missing = []
    for top in config["packages"]["find"]["include"]:
        for path in ROOT.glob(top.rstrip("*") + "/**/*"):
            shipped = path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
            if shipped and not any(fnmatch.fnmatch(path.name, p) for p in patterns):
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"not in pyproject's package-data, so missing from the image: {missing}"
