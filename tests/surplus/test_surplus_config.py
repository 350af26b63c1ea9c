"""``[surplus]`` and ``[booking.self_paced]``: defaults, per-unit overrides, and bad values named by key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.config import ConfigError, parse_org_config


def test_defaults_and_per_unit_overrides() -> None:
    config = parse_org_config({"surplus": {"enabled": False, "margin": 1.5,
                                           "units": {"mu-1": {"enabled": True, "look_ahead": 3}}}})
    unit, other = config.surplus.for_unit("mu-1"), config.surplus.for_unit("mu-2")
    assert (unit.enabled, unit.margin, unit.look_ahead, unit.max_team_share) == (True, 1.5, 3, 0.25)
    assert (other.enabled, other.margin, other.look_ahead) == (False, 1.5, 2)
    assert config.surplus.recall_grace == timedelta(minutes=2)
    assert config.surplus.watch_every == timedelta(seconds=10)
    assert parse_org_config({"surplus": {"watch_every": "0s"}}).surplus.watch_every == timedelta(0)


@pytest.mark.parametrize(("data", "named"), [
    ({"surplus": {"quiet_hours": ["12-13"]}}, "surplus.quiet_hours"),
    ({"surplus": {"units": {"mu-1": {"margin": -1}}}}, "surplus.units.mu-1.margin"),
    ({"surplus": {"max_team_share": 2}}, "surplus.max_team_share"),
    ({"surplus": {"watch_every": "500ms"}}, "surplus.watch_every"),
    ({"surplus": {"activity_types": ["nope"]}}, "surplus.activity_types: no item 'nope'"),
    ({"surplus": {"units": {"mu-1": {"activity_types": ["nope"]}}}}, "surplus.units.mu-1.activity_types"),
    ({"booking": {"self_paced": {"x": {"name": "X", "length": "20m"}}}}, "booking.self_paced.x.length"),
])
def test_a_bad_value_is_refused_naming_its_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_org_config(data)
    assert named in str(raised.value)
