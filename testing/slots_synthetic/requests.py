"""The request mix (1:1 coaching, team meetings, trainings, ad hoc, recurring ones), and the requests
made infeasible on purpose, each for a known reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from services.domain.slots.model import Reason, Recurrence, SlotRequest
from testing.slots_synthetic.calendars import ABSENT, WORK, Calendars
from testing.slots_synthetic.instance import SizeClass


def _request_counts(spec: SizeClass) -> dict[str, int]:
    injected = max(1, round(0.03 * spec.requests))
    feasible = spec.requests - injected
    weeks = spec.days // 7
    if weeks >= 4:  # recurring team meetings (weekly) and 1:1s (every two weeks)
        occurrences = feasible / (0.2 / weeks + 0.2 + 0.05 + 0.55 - 0.3 * 0.55 / 2)
        team = round(0.2 * occurrences / weeks)
        training = round(0.2 * occurrences)
        adhoc = round(0.05 * occurrences)
        biweekly = round(0.3 * 0.55 * occurrences / 2)
        single = feasible - team - training - adhoc - biweekly
        return {"team_weekly": team, "training": training, "adhoc": adhoc, "one_to_one_biweekly": biweekly,
                "one_to_one": single, "injected": injected}
    team = round(0.2 * feasible)
    training = round(0.2 * feasible)
    adhoc = round(0.05 * feasible)
    return {"team_meeting": team, "training": training, "adhoc": adhoc,
            "one_to_one": feasible - team - training - adhoc, "injected": injected}


_PLANT_RANK = {"training": 0, "team_meeting": 1, "adhoc": 2, "one_to_one": 3}


def plant_order(request: SlotRequest) -> tuple[int, str]:
    return _PLANT_RANK.get(request.kind, 4), request.id


def draw_requests(cal: Calendars, spec: SizeClass, rng: np.random.Generator,
              r_inject: np.random.Generator) -> tuple[list[SlotRequest], dict[str, Reason]]:
    counts = _request_counts(spec)
    out: list[SlotRequest] = []
    teams_for_weekly = [cal.team_ids[int(i)] for i in rng.permutation(len(cal.team_ids))]
    for kind, count in counts.items():
        for i in range(count):
            rid = f"r{len(out) + 1:03d}"
            if kind == "injected":
                continue
            if kind == "team_weekly":
                out.append(_team_meeting(cal, rng, rid, team=teams_for_weekly[i % len(teams_for_weekly)],
                                         weekly=True))
            elif kind == "team_meeting":
                out.append(_team_meeting(cal, rng, rid))
            elif kind == "training":
                out.append(_training(cal, rng, rid))
            elif kind == "adhoc":
                out.append(_adhoc(cal, rng, rid))
            else:
                out.append(_one_to_one(cal, rng, rid, biweekly=kind == "one_to_one_biweekly"))
    injected: dict[str, Reason] = {}
    kinds = [Reason.ATTENDEE_UNAVAILABLE, Reason.OUTSIDE_SHIFTS, Reason.NO_ROOM_BIG_ENOUGH,
             Reason.NO_FACILITATOR_TIME, Reason.RECURRENCE_IMPOSSIBLE]
    for i in range(counts["injected"]):
        rid = f"r{len(out) + 1:03d}"
        reason = kinds[i % len(kinds)]
        out.append(_inject(cal, r_inject, rid, reason, i))
        injected[rid] = reason
    return out, injected


def _prefs(rng: np.random.Generator, earliest: int, latest: int, duration: int) -> dict[str, object]:
    pref = None
    if rng.random() < 0.30:
        pref = int(earliest + 15 * rng.integers(0, (latest - duration - earliest) // 15 + 1))
    return {"preferred_minute": pref, "priority": int(rng.integers(1, 4))}


def _window(cal: Calendars, rng: np.random.Generator, days: int) -> tuple[date, date]:
    total = cal.grid.days
    days = min(days, total)
    first = int(rng.integers(0, total - days + 1))
    return cal.grid.date_of(first), cal.grid.date_of(first + days - 1)


def _one_to_one(cal: Calendars, rng: np.random.Generator, rid: str, *, biweekly: bool = False) -> SlotRequest:
    agent = int(rng.integers(len(cal.agent_ids)))
    team = cal.agent_teams[agent]
    duration = int(rng.choice([30, 45, 60], p=[0.7, 0.2, 0.1]))
    if biweekly:
        start, end = cal.grid.first_day, cal.grid.date_of(cal.grid.days - 1)
        rec = Recurrence("weekly", every=2, min_gap_days=10, count=cal.grid.days // 14)
    else:
        start, end = _window(cal, rng, 14)
        rec = None
    return SlotRequest(rid, "one_to_one", (cal.agent_ids[agent],), duration, start, end,
                       facilitator=cal.managers[team], room_needed=bool(rng.random() < 0.4),
                       earliest_minute=8 * 60, latest_minute=17 * 60, recurrence=rec,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def _team_meeting(cal: Calendars, rng: np.random.Generator, rid: str, *, team: str | None = None,
                  weekly: bool = False) -> SlotRequest:
    team = team or cal.team_ids[int(rng.integers(len(cal.team_ids)))]
    duration = int(rng.choice([30, 45, 60]))
    members = tuple(cal.agent_ids[i] for i in cal.team_rows[team])
    if weekly:
        start, end = cal.grid.first_day, cal.grid.date_of(cal.grid.days - 1)
        rec = Recurrence("weekly", every=1, min_gap_days=4, count=cal.grid.days // 7)
    else:
        week = int(rng.integers(cal.grid.days // 7))
        start, end = cal.grid.date_of(7 * week), cal.grid.date_of(7 * week + 4)
        rec = None
    return SlotRequest(rid, "team_meeting", members, duration, start, end, facilitator=cal.managers[team],
                       room_needed=True, earliest_minute=9 * 60, latest_minute=16 * 60,
                       weekdays=frozenset(range(5)), recurrence=rec,
                       **_prefs(rng, 9 * 60, 16 * 60, duration))  # type: ignore[arg-type]


def _training(cal: Calendars, rng: np.random.Generator, rid: str) -> SlotRequest:
    duration = 60 * int(rng.choice([2, 3, 4]))
    queue = int(rng.integers(cal.weights.shape[1]))
    skilled = np.flatnonzero(cal.weights[:, queue] > 0)
    # Agents whose shifts overlap the anchor's enough to share the training inside 08:00-17:00.
    anchor = int(rng.choice(skilled))
    lo_end = np.maximum(np.maximum(cal.agent_start[skilled], cal.agent_start[anchor]), 8 * 60)
    close = skilled[(np.abs(cal.agent_start[skilled] - cal.agent_start[anchor]) <= 60)
                    & (np.minimum(17 * 60, np.minimum(cal.agent_start[skilled], cal.agent_start[anchor]) + 510)
                       - lo_end >= duration)]
    if close.size < 6:
        close = skilled
    count = int(min(close.size, rng.integers(6, 17)))
    chosen = sorted(int(i) for i in rng.choice(close, size=count, replace=False))
    start, end = _window(cal, rng, 7 * int(rng.integers(1, 3)))
    trainer = cal.trainers[int(rng.integers(len(cal.trainers)))]
    return SlotRequest(rid, "training", tuple(cal.agent_ids[i] for i in chosen), duration, start, end,
                       facilitator=trainer, room_needed=True, earliest_minute=8 * 60, latest_minute=17 * 60,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def _adhoc(cal: Calendars, rng: np.random.Generator, rid: str) -> SlotRequest:
    duration = int(rng.choice([30, 45, 60]))
    anchor = int(rng.integers(len(cal.agent_ids)))
    near = np.flatnonzero(np.abs(cal.agent_start - cal.agent_start[anchor]) <= 60)
    count = min(int(near.size), int(rng.integers(3, 9)))
    chosen = sorted(int(i) for i in rng.choice(near, size=count, replace=False))
    start, end = _window(cal, rng, 7)
    return SlotRequest(rid, "adhoc", tuple(cal.agent_ids[i] for i in chosen), duration, start, end,
                       facilitator=cal.managers[cal.agent_teams[chosen[0]]], room_needed=True,
                       earliest_minute=8 * 60, latest_minute=17 * 60,
                       **_prefs(rng, 8 * 60, 17 * 60, duration))  # type: ignore[arg-type]


def redraw(cal: Calendars, request: SlotRequest, rng: np.random.Generator, attempt: int) -> SlotRequest:
    """A fresh request of the same kind and id when the last one could not be planted."""
    if request.kind == "team_meeting":
        team = None
        if request.recurrence is not None:  # keep it weekly, maybe for another team after many tries
            team = cal.agent_teams[cal.agent_ids.index(request.attendees[0])] if attempt < 20 else None
        return _team_meeting(cal, rng, request.id, team=team, weekly=request.recurrence is not None)
    if request.kind == "training":
        return _training(cal, rng, request.id)
    if request.kind == "adhoc":
        return _adhoc(cal, rng, request.id)
    return _one_to_one(cal, rng, request.id, biweekly=request.recurrence is not None)


def _inject(cal: Calendars, rng: np.random.Generator, rid: str, reason: Reason, index: int) -> SlotRequest:
    grid = cal.grid
    agent = int(rng.integers(len(cal.agent_ids)))
    team = cal.agent_teams[agent]
    start, end = _window(cal, rng, 14)
    base = SlotRequest(rid, "one_to_one", (cal.agent_ids[agent],), 30, start, end, facilitator=cal.managers[team],
                       earliest_minute=8 * 60, latest_minute=17 * 60)
    if reason is Reason.ATTENDEE_UNAVAILABLE:  # on leave for the whole window
        lo, hi = grid.day_span(start, end)
        row = cal.states[agent, lo:hi]
        row[row != 0] = ABSENT
        return base
    if reason is Reason.OUTSIDE_SHIFTS:  # nobody works before 07:00
        return replace(base, earliest_minute=0, latest_minute=6 * 60)
    if reason is Reason.NO_ROOM_BIG_ENOUGH:  # three teams at once: more people than the biggest room
        biggest = max(r.capacity for r in cal.rooms)
        members: list[str] = []
        for t in cal.team_ids[index % len(cal.team_ids):] + cal.team_ids:
            members.extend(cal.agent_ids[i] for i in cal.team_rows[t] if cal.agent_ids[i] not in members)
            if len(members) + 1 > biggest:
                break
        return replace(base, kind="team_meeting", attendees=tuple(members), room_needed=True, duration_minutes=60)
    if reason is Reason.NO_FACILITATOR_TIME:  # a guest facilitator with no free time at all
        guest = f"guest{index + 1}"
        cal.fac_ids.append(guest)
        cal.fac_avail = np.vstack([cal.fac_avail, np.zeros(grid.intervals, dtype=np.bool_)])
        cal.fac_busy = np.vstack([cal.fac_busy, np.zeros(grid.intervals, dtype=np.bool_)])
        return replace(base, facilitator=guest)
    # Three daily occurrences two days apart cannot fit in three consecutive days.
    for candidate in [int(a) for a in rng.permutation(len(cal.agent_ids))]:
        days = [d for d in range(grid.days - 2) if all(_works_weekday(cal, candidate, d + k) for k in range(3))]
        if days:
            break
    first = days[int(rng.integers(len(days)))]
    who = cal.agent_ids[candidate]
    return replace(base, attendees=(who,), facilitator=cal.managers[cal.agent_teams[candidate]],
                   window_start=grid.date_of(first), window_end=grid.date_of(first + 2),
                   recurrence=Recurrence("daily", every=1, min_gap_days=2, count=3))


def _works_weekday(cal: Calendars, agent: int, day: int) -> bool:
    """On shift 09:00-12:00 that day, and the day is a weekday (so the manager works too)."""
    grid = cal.grid
    if grid.date_of(day).weekday() >= 5:
        return False
    base = day * (1440 // grid.minutes)
    return bool((cal.states[agent, base + 36:base + 48] == WORK).sum() >= 8)
