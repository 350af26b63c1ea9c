"""The Slack fake for the digest and Teams tests."""

from tests.slack.conftest import fake_slack  # noqa: F401
