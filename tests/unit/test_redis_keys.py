"""The one Redis key schema (services/adapters/redis_keys.py) spells every key as the adapters wrote
them before it was gathered in one module: a running deployment's state stays readable."""

from __future__ import annotations

from services.adapters.redis_keys import (
    BookingKeys,
    UnitKeys,
    epoch_key,
    heartbeat_key,
    heartbeats_key,
    replicas_key,
    slack_user_key,
)


def test_keys_outside_the_unit_and_booking_schemas_keep_their_spelling() -> None:
    assert replicas_key("adh") == "adh:monitor:replicas"
    assert slack_user_key("adh", "a@example.com") == "adh:slack:user:a@example.com"
    assert heartbeat_key("adh", "r1") == "adh:{monitor}:heartbeat:r1"
    assert heartbeats_key("adh") == "adh:{monitor}:heartbeats"
    assert epoch_key("adh") == "adh:epoch"


def test_surplus_and_optimise_keys_keep_their_spelling_and_hash_tags() -> None:
    assert UnitKeys("adh", "mu-1").surplus("trainees") == "adh:{mu-1}:surplus:trainees"
    booking = BookingKeys("adh")
    assert (booking.optimise_proposals, booking.optimise_decisions, booking.optimise_revisions) == (
        "adh:{booking}:optimise:proposals", "adh:{booking}:optimise:decisions", "adh:{booking}:optimise:revisions")
