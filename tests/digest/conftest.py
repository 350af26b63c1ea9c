"""The Slack fake for the digest tests, and the CLI's clean environment."""

from tests.cli.conftest import clean_env  # noqa: F401
from tests.slack.conftest import fake_slack  # noqa: F401
