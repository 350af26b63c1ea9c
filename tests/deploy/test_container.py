"""The container and compose files say what docs/deploy.md promises, the package installs with its
console script, and (where a Docker daemon answers) the image builds and serves /health."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_dockerfile_installs_from_pyproject_and_runs_the_console_script_as_non_root() -> None:
    steps = _instructions()
    stages = [args for word, args in steps if word == "FROM"]
    assert stages and all(s.split()[0].startswith("python:3.11-slim") for s in stages)
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    copied = " ".join(args for word, args in steps if word == "COPY")
    assert "pyproject.toml" in copied
    runs = [args for word, args in steps if word == "RUN"]
    assert any("pip wheel" in r and r.rstrip().endswith(" .") for r in runs)  # the project, by pyproject.toml
    assert any("pip install" in r and "/wheels/" in r for word, r in final if word == "RUN")
    # the dependencies at the versions the tests ran on (make lock), not whatever is newest today
    assert any("pip install" in r and "-c /wheels/constraints.txt" in r for word, r in final if word == "RUN")
    assert "constraints.txt" in " ".join(args for word, args in final if word == "COPY")
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (word, _) in enumerate(final) if word == "USER")
    assert all(word != "RUN" for word, _ in final[last_user:])  # nothing runs as root after USER
    [health] = [args for word, args in final if word == "HEALTHCHECK"]
    assert "/health" in health and "HEALTH_PORT" in health
    assert any("HEALTH_PORT=3000" in args for word, args in final if word == "ENV")
    [entry] = [args for word, args in final if word == "ENTRYPOINT"]
    assert json.loads(entry) == ["adherence-bot"]


def test_the_dockerignore_keeps_the_venv_git_and_secrets_out_but_not_what_the_image_copies() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "*.env", "tests"} <= ignored
    copied = [*_build_stage_copies(), "config/example.toml"]
    assert "config/example.toml" in " ".join(args for word, args in _instructions() if word == "COPY")
    for path in copied:
        assert not any(fnmatch.fnmatch(path, pattern) or path.split("/")[0] == pattern for pattern in ignored), path


def test_compose_runs_the_bot_on_a_redis_with_aof_everysec_on_a_volume() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    redis, bot = compose["services"]["redis"], compose["services"]["bot"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    volume = next(v.split(":") for v in redis["volumes"] if v.split(":")[1] == "/data")
    assert volume[0] in compose["volumes"]  # a named volume, not the container's own layer
    assert bot["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert bot["env_file"] == ["bot.env"]
    assert (ROOT / "deploy" / "bot.env.example").exists()
    assert "deploy/bot.env" in (ROOT / ".gitignore").read_text().split()
    assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
    assert bot["build"]["context"] == ".."


def _build_stage_copies() -> list[str]:
    """The paths the Dockerfile's build stage copies from the context (COPY src... dest)."""
    steps = _instructions()
    second = [i for i, (word, _) in enumerate(steps) if word == "FROM"][1]
    paths: list[str] = []
    for word, args in steps[:second]:
        if word == "COPY" and not args.startswith("--from"):
            paths += args.split()[:-1]
    return paths


def test_the_scaffolding_stays_out_of_the_wheel_and_the_image() -> None:
    """testing/ (fakes, in-memory ports, synthetic instances), tests/ and bench/ are not shipped: the
    build stage does not copy them and pyproject's package discovery does not include them."""
    copied = {path.split("/")[0] for path in _build_stage_copies()}
    assert copied.isdisjoint({"testing", "tests", "bench"}), copied
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in include for name in ("testing", "tests", "bench") if fnmatch.fnmatch(name, p)], include


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_image_build_steps_give_a_working_adherence_bot_command(tmp_path: Path) -> None:
    """What the Dockerfile does, without Docker: a wheel built from only the files its build stage
    copies, installed into a fresh venv (not editable): the console script runs from anywhere and the
    package data (the Lua scripts) came along. The dependencies are this venv's, reached through a
    .pth file, so only the build backend is fetched."""
    context = tmp_path / "context"
    context.mkdir()
    for name in _build_stage_copies():
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, context / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
                            str(tmp_path / "wheels"), str(context)], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=240)
    assert wheel.returncode == 0, wheel.stderr
    [built] = (tmp_path / "wheels").glob("adherence_bot-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "redis").is_dir())
    (site / "deps.pth").write_text(ours + "\n")
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                              "--no-deps", str(built)], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert install.returncode == 0, install.stderr
    result = subprocess.run([str(venv / "bin" / "adherence-bot"), "--help"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Commands:" in result.stdout and "check" in result.stdout
    check = subprocess.run(
        [str(python), "-c", "import bot, services.adapters.redis as r; from importlib import resources;"
         "print(bot.__file__); print(len(resources.files(r).joinpath('commit_tick.lua').read_text()))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    installed, lua_chars = check.stdout.split()
    assert installed.startswith(str(site)), installed  # the installed copy, not the source tree
    assert int(lua_chars) > 100


def test_the_console_script_of_this_venv_runs() -> None:
    script = Path(sys.executable).parent / "adherence-bot"
    assert script.exists(), "pip install -e '.[dev]' writes .venv/bin/adherence-bot (pyproject [project.scripts])"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "check" in result.stdout


def _docker_answers() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"no Docker daemon answers (`docker info`: {probe.stderr.strip().splitlines()[-1:]})"
    return None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_image_builds_and_serves_health() -> None:
    reason = _docker_answers()
    if reason:
        pytest.skip(reason)
    tag = f"adherence-bot-test:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=800)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = f"adherence-bot-test-{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": "redis://127.0.0.1:6379/15", "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
           "HEALTH_PORT": str(port)}
    run = ["docker", "run", "-d", "--rm", "--name", name, "--network", "host"]
    for key, value in env.items():
        run += ["-e", f"{key}={value}"]
    subprocess.run([*run, tag, "run", "--port", str(port)], check=True, timeout=60)
    try:
        user = subprocess.run(["docker", "exec", name, "id", "-u"], capture_output=True, text=True, timeout=30)
        assert user.stdout.strip() == "10001"
        deadline, last = time.monotonic() + 90, ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
                    assert json.loads(response.read())["status"] == "ok"
                    return
            except OSError as error:
                last = str(error)
            time.sleep(1)  # waiting for a container to start, not for simulated time
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stdout
        raise AssertionError(f"/health never answered: {last}\n{shlex.quote(logs)}")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
