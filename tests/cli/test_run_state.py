"""``python -m bot run`` refuses to start on a Redis that does not answer (state must survive a restart),
unless ``--ephemeral-state`` asks for the throwaway in-process store. Real processes, real signals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli.conftest import bot_free_environment

ROOT = Path(__file__).resolve().parents[2]
NOBODY_LISTENS = "redis://127.0.0.1:1/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_exits_at_once_naming_redis_url_when_redis_does_not_answer() -> None:
    env = {**bot_free_environment(), "REDIS_URL": NOBODY_LISTENS}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--port", str(_free_port())], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "REDIS_URL=redis://127.0.0.1:1/0" in result.stderr and "--ephemeral-state" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert "fakeredis" not in result.stderr.replace("--ephemeral-state", "")  # no silent stand-in


def test_run_gives_up_within_seconds_on_a_redis_that_accepts_but_never_answers() -> None:
    with socket.socket() as silent:  # a hung server or a firewall that lets the connection in
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        env = {**bot_free_environment(), "REDIS_URL": url}
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "bot", "run", "--port", str(_free_port())], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode != 0 and f"REDIS_URL={url}" in result.stderr and "no answer to PING" in result.stderr
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_run_with_ephemeral_state_starts_without_redis_and_stops_on_sigterm() -> None:
    port = _free_port()
    env = {**bot_free_environment(), "REDIS_URL": NOBODY_LISTENS}
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--ephemeral-state", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    status = response.status
            except urllib.error.HTTPError as error:  # answering, if not (yet) healthy: it started
                status = error.code
            except OSError:
                time.sleep(0.2)  # waiting for a process to come up, not for simulated time to pass
        assert status is not None, "the service never answered /health"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "in-process fakeredis (state is lost on exit)" in output


def test_book_needs_redis_but_book_demo_says_it_uses_fakeredis() -> None:
    env = {**bot_free_environment(), "REDIS_URL": NOBODY_LISTENS}
    real = subprocess.run([sys.executable, "-m", "bot", "book", "--team", "Billing"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert real.returncode == 1 and "REDIS_URL=redis://127.0.0.1:1/0" in real.stderr and "book --demo" in real.stderr
    demo = subprocess.run([sys.executable, "-m", "bot", "book", "--demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "State: in-process fakeredis (state is lost on exit): no Redis answered at REDIS_URL" in demo.stdout
