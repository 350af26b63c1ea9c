"""``/adherence``: ``team [name]``, nothing (the caller's teams), ``help``, ``neutral ...`` (plan or list
neutral windows, ``handlers.commands.neutral``), ``surplus`` (training in surplus). Answers are ephemeral."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.actor import ActorNames
from handlers.commands.neutral import answer_neutral
from handlers.deps import HandlerDeps
from handlers.errors import answering_errors
from presentation.blocks.adherence import help_message, team_snapshot, unknown_team, your_teams
from presentation.blocks.neutral import snapshot_note
from presentation.blocks.surplus import surplus_status
from presentation.cards import RenderedMessage
from services.queries import UnknownTeam

ADHERENCE = "/adherence"


@dataclass(frozen=True, slots=True)
class AdherenceRequest:
    kind: Literal["teams", "team", "help", "neutral", "unknown", "surplus"]
    argument: str = ""

    @classmethod
    def parse(cls, text: str | None) -> AdherenceRequest:
        words = (text or "").strip()
        head, _, rest = words.partition(" ")
        head = head.lower()
        if not head or head in ("teams", "me", "mine"):
            return cls("teams")
        if head in ("help", "-h", "--help", "?"):
            return cls("help")
        if head == "team":
            return cls("team", rest.strip())
        if head == "neutral":
            return cls("neutral", rest.strip())
        if head == "surplus":
            return cls("surplus")
        return cls("unknown", words)


async def answer(deps: HandlerDeps, request: AdherenceRequest, user_id: str) -> RenderedMessage:
    if request.kind == "help":
        return help_message()
    if request.kind == "unknown":
        return help_message(note=f"I don't know “{request.argument[:100]}”. Here is what I can do:")
    if request.kind == "surplus":
        return surplus_status(await deps.surplus.status()) if deps.surplus else surplus_status([])
    if request.kind == "teams":
        return your_teams(await deps.queries.teams_for(user_id))
    query = request.argument
    if not query:
        teams = await deps.queries.teams_for(user_id)
        if len(teams) != 1:
            return unknown_team("", teams)
        query = teams[0].team_id
    try:
        snapshot = await deps.queries.team_snapshot(query, user_id)
    except UnknownTeam as error:
        return unknown_team(error.query, error.visible)
    windows = await deps.neutral.for_team(snapshot.team.mu_id, snapshot.team.team_id) if deps.neutral else []
    return team_snapshot(snapshot, snapshot_note(windows, snapshot.at))


async def adherence(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                    deps: HandlerDeps, actors: ActorNames) -> None:
    await ack()
    async with answering_errors(command, respond):
        request = AdherenceRequest.parse(command.get("text"))
        if request.kind == "neutral":
            message = await answer_neutral(deps, request.argument, await actors.actor(command, client))
        else:
            message = await answer(deps, request, str(command.get("user_id", "")))
        await respond(text=message.text, blocks=message.blocks, response_type="ephemeral")
