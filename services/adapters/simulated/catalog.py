"""Fixed vocabulary of the simulated contact center: names, units, teams and activity codes.

Only data lives here. Activity-code ids are GUIDs, as Genesys business-unit codes are, derived from the
code name so they are stable across runs and seeds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.domain.states import ActivityCategory

FIRST_NAMES: tuple[str, ...] = (
    "Maya", "Liam", "Aisha", "Noah", "Sofia", "Mateo", "Chloe", "Ethan", "Priya", "Lucas", "Amara", "Oliver",
    "Yuki", "Elias", "Fatima", "Hugo", "Ingrid", "Kofi", "Lena", "Marco", "Nadia", "Omar", "Paula", "Rafael",
    "Sara", "Tomas", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Anya", "Bruno", "Carmen", "Dmitri",
    "Elif", "Finn", "Grace", "Hamid", "Isla", "Jonas", "Kira", "Leon", "Mei", "Nils", "Olga", "Pedro",
    "Rosa", "Samir", "Tara", "Ugo", "Vera", "Wiktor", "Yara", "Zain", "Alma", "Ben", "Clara", "Diego",
)

LAST_NAMES: tuple[str, ...] = (
    "Okafor", "Lindqvist", "Haddad", "Moreau", "Tanaka", "Silva", "Kowalski", "Nguyen", "Fischer", "Rossi",
    "Patel", "Jensen", "Garcia", "Murphy", "Novak", "Dubois", "Sato", "Andersen", "Costa", "Ibrahim",
    "Schmidt", "Kaur", "Larsen", "Mendes", "Horvat", "Yilmaz", "Brennan", "Virtanen", "Santos", "Weber",
    "Abebe", "Castillo", "Dahl", "Eriksen", "Ferreira", "Gruber", "Hansen", "Ivanova", "Jovanovic", "Kim",
    "Lopez", "Mensah", "Nakamura", "Oliveira", "Petrov", "Quinn", "Reyes", "Sorensen", "Toivonen", "Uddin",
    "Vargas", "Walsh", "Xu", "Yamamoto", "Zhang", "Ahmed", "Berg", "Cohen", "Duarte", "Engel",
)

UNIT_NAMES: tuple[str, ...] = (
    "EMEA North", "Americas East", "APAC", "EMEA South", "Americas West", "UK & Ireland", "DACH", "Nordics",
    "LATAM", "India",
)

TEAM_NAMES: tuple[str, ...] = (
    "Billing", "Tech Support", "Retention", "Sales", "Onboarding", "Claims", "Collections", "Premium Care",
    "Returns", "Escalations", "Chat Desk", "Accounts",
)


def numbered(names: tuple[str, ...], index: int) -> str:
    """``names[index]``, with a round number appended once the list wraps ("Billing 2")."""
    base = names[index % len(names)]
    lap = index // len(names)
    return f"{base} {lap + 1}" if lap else base


@dataclass(frozen=True, slots=True)
class ActivityCode:
    id: str
    name: str
    category: ActivityCategory


def _code(name: str, category: ActivityCategory) -> ActivityCode:
    return ActivityCode(str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sim.example.com/activitycodes/{name}")),
                        name, category)


ON_QUEUE = _code("On Queue", ActivityCategory.ON_QUEUE_WORK)
BREAK = _code("Break", ActivityCategory.BREAK)
MEAL = _code("Lunch", ActivityCategory.MEAL)
MEETING = _code("Team Huddle", ActivityCategory.MEETING)
TRAINING = _code("Product Training", ActivityCategory.TRAINING)

ACTIVITY_CODES: tuple[ActivityCode, ...] = (ON_QUEUE, BREAK, MEAL, MEETING, TRAINING)
