"""The booking form: which unit a command names, the choices it offers, the training target, the modal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.booking.deps import BookingHandlerDeps
from presentation.blocks.booking import Block, Choices, booking_modal
from presentation.blocks.booking_target import target_blocks
from services.booking.forms import FormValues
from services.booking.targeting import BELOW, DAYS, TEAMS, Selection, parse_target
from services.domain.model import ManagementUnit, Roster


async def unit_named(deps: BookingHandlerDeps, text: str) -> tuple[ManagementUnit | None, str]:
    """The unit named by ``unit:ID`` in the text (removed from it), else the first one."""
    units = list(await deps.units())
    rest = []
    wanted = None
    for word in text.split():
        if word.lower().startswith("unit:"):
            wanted = word.split(":", 1)[1]
        else:
            rest.append(word)
    chosen = next((u for u in units if u.id == wanted or u.name.lower() == (wanted or "").lower()), None)
    if wanted is None and units:
        chosen = units[0]
    return chosen, " ".join(rest)


def choices(deps: BookingHandlerDeps, unit: ManagementUnit, roster: Roster, training: bool) -> Choices:
    config = deps.config
    facilitators: dict[str, str] = {}
    if training:
        facilitators.update(deps.trainers)
    for team in roster.teams.values():
        for person in team.supervisor_ids:
            facilitators.setdefault(person, roster.people[person].name if person in roster.people else person)
    return Choices(
        unit=(unit.id, unit.name),
        types=[(type_id, meeting.name) for type_id, meeting in config.types.items()],
        teams=[(t.id, t.name) for t in roster.teams.values()],
        people=[(a.id, a.name) for a in sorted(roster.agents.values(), key=lambda a: a.name)],
        facilitators=sorted(facilitators.items(), key=lambda kv: kv[1]),
        locations=[(loc_id, loc.name) for loc_id, loc in config.locations.items()],
    )


async def target_of(deps: BookingHandlerDeps, roster: Roster,
                  form: FormValues) -> tuple[Selection | None, dict[str, str]]:
    """Who the form's training target selects, or its errors by field; (None, {}) without a target."""
    if deps.targeting is None or not form.has_target:
        return None, {}
    if form.teams or form.people:
        return None, {TEAMS: "a target replaces the list: clear Teams and People above, or the target"}
    target, errors = parse_target(form.target_teams, form.get(BELOW), form.get(DAYS),
                                  known_teams={t.id: t.name for t in roster.teams.values()}, unit_name=roster.mu.name)
    if target is None:
        return None, errors
    selection = await deps.targeting.select(roster, target)
    if selection.problem:
        return selection, {TEAMS if not selection.days_with_data else BELOW: selection.problem}
    return selection, {}


async def modal(deps: BookingHandlerDeps, unit: ManagementUnit, roster: Roster, form: FormValues,
                 metadata: dict[str, str], training: bool) -> dict[str, Any]:
    config = deps.config
    default_type = config.training_type if training and config.training_type in config.types \
        else config.default_type
    today = deps.clock.now().date()
    span = config.types[form.get("type") or default_type].window if (form.get("type") or default_type) \
        in config.types else timedelta(days=14)
    listed = choices(deps, unit, roster, training)
    extra: list[Block] = []
    if training and deps.targeting is not None:
        selection, errors = await target_of(deps, roster, form)
        extra = target_blocks(listed.teams, form, selection=selection,
                              problem="" if selection is not None else " ".join(errors.values()))
    return booking_modal(choices=listed, form=form, metadata=metadata, training=training,
                         default_type=default_type, first_day=today + timedelta(days=1), last_day=today + span,
                         target_blocks=extra)
