"""Action ids and the button value of neutral windows (``/adherence neutral``, App Home)."""

from __future__ import annotations

from pydantic import Field

from presentation.payloads import _Compact

NEUTRAL_CANCEL = "neutral_cancel"
NEUTRAL_PLAN_OPEN = "neutral_plan_open"
NEUTRAL_PLAN_MODAL = "neutral_plan_submit"
# Blocks (and their one element, ``value``) of the plan form.
SCOPE_BLOCK, DAY_BLOCK, START_BLOCK, END_BLOCK, REASON_BLOCK = "scope", "day", "start", "end", "reason"


class NeutralRef(_Compact):
    """Which neutral window a Cancel button acts on."""

    mu_id: str = Field(alias="m", min_length=1, max_length=200)
    window_id: str = Field(alias="w", min_length=1, max_length=100)
