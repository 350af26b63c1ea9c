"""``ChatDirectory`` without Slack: people are who the config says (``slack_user_id``), nobody else."""

from __future__ import annotations

from collections.abc import Mapping

from services.domain.model import Person


class ConfigDirectory:
    """Without Slack: people are who the config says (``slack_user_id``), nobody else."""

    def __init__(self, ids: Mapping[str, str]) -> None:
        self._ids = dict(ids)  # person id -> Slack user id

    async def user_id_for(self, person: Person) -> str | None:
        return self._ids.get(person.id)
