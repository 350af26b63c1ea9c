"""Mistakes on the command line or in the environment: one line on stderr naming what is wrong, exit 2,
no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import load_settings
from tests.conftest import TEST_REDIS_URL


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(("argv", "named"), [
    (["demo", "--speed", "0"], "--speed: must be greater than 0"),
    (["demo", "--agents", "0"], "--agents: must be greater than 0"),
    (["demo", "--hours", "-1"], "--hours: must be greater than 0"),
    (["demo", "--speed", "fast"], "--speed: 'fast' is not a number"),
    (["demo", "--speed", "nan"], "--speed: must be greater than 0, got nan"),
    (["--log-level", "LOUD", "check"], "unknown log level 'LOUD'"),
    (["run", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["run", "--port", "70000"], "--port: 70000 is not a port number"),
])
def test_usage_mistakes_are_one_line_and_exit_2(argv: list[str], named: str, clean_env: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert named in _one_line_error(capsys)


@pytest.mark.parametrize(("env", "named"), [
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: unknown log level 'loud'; use one of DEBUG, INFO"),
    ({"GENESYS_CLIENT_ID": "abc"}, "GENESYS_CLIENT_ID set but GENESYS_CLIENT_SECRET missing"),
    ({"GENESYS_CLIENT_SECRET": "s3cret", "GENESYS_REGION": "eu_west_1"}, "GENESYS_CLIENT_ID missing"),
    ({"GENESYS_CLIENT_ID": "abc", "GENESYS_CLIENT_SECRET": "s3cret", "GENESYS_REGION": "mars"},
     "unknown GENESYS_REGION 'mars'"),
    ({"GENESYS_CLIENT_ID": "abc", "GENESYS_CLIENT_SECRET": "s3cret"}, "set GENESYS_REGION"),
    ({"SMTP_FROM": "Adherence Bot"}, "SMTP_FROM: 'Adherence Bot' is not an email address"),
])
def test_bad_environment_is_one_line_and_exit_2(env: dict[str, str], named: str, clean_env: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in env.items():
        clean_env.setenv(key, value)
    assert main(["check"]) == 2
    err = _one_line_error(capsys)
    assert named in err
    assert "s3cret" not in err  # a secret is never echoed back


def test_half_a_genesys_config_never_falls_back_to_the_simulator(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GENESYS_CLIENT_ID", "abc")
    with pytest.raises(Exception, match="GENESYS_CLIENT_SECRET"):
        load_settings()


@pytest.mark.parametrize(("text", "named"), [
    ("[[tiers]]\nafter = 5\naction = \"chat_card\"\n", "tiers.0.after: 5 is a bare number"),
    ("tiers = []\n", "tiers: at least one tier is needed"),
    ("[monitor\n", "is not valid TOML"),
])
def test_a_bad_config_file_is_one_line_and_exit_2(text: str, named: str, tmp_path: Path,
                                                  clean_env: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    clean_env.setenv("BOT_CONFIG", str(path))
    assert main(["check"]) == 2
    err = _one_line_error(capsys)
    assert named in err and str(path) in err


def test_bot_config_pointing_at_a_directory_is_one_line(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("BOT_CONFIG", str(tmp_path))
    assert main(["check"]) == 2
    assert "is a directory" in _one_line_error(capsys)


def test_an_empty_bot_config_means_the_built_in_defaults(clean_env: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("BOT_CONFIG", "")
    clean_env.setenv("REDIS_URL", TEST_REDIS_URL)
    assert load_settings().bot_config is None
    assert main(["check"]) == 0  # test Redis has no persistence: a warning, not a failure
    out = capsys.readouterr().out
    assert "built-in defaults" in out and "3 tier(s)" in out
