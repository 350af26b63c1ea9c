"""Parsed modal submissions: the form's ``state.values`` in, a validated model (or field errors) out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from presentation.blocks.exception_modal import (
    CHOOSABLE_REASONS,
    FIELD,
    NOTE_BLOCK,
    NOTE_MAX,
    REASON_BLOCK,
    WINDOW_BLOCK,
    WINDOWS,
)


class FormErrors(ValueError):
    """Errors keyed by input block id, as ``ack(response_action="errors")`` wants them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ExceptionForm(BaseModel):
    model_config = ConfigDict(frozen=True)

    window: timedelta
    reason_code: str
    note: str = ""

    @classmethod
    def from_state(cls, values: Mapping[str, Any]) -> ExceptionForm:
        def field(block: str) -> Mapping[str, Any]:
            found = (values.get(block) or {}).get(FIELD) or {}
            return found if isinstance(found, Mapping) else {}

        errors: dict[str, str] = {}
        window_raw = (field(WINDOW_BLOCK).get("selected_option") or {}).get("value")
        allowed_windows = {str(m) for m, _ in WINDOWS}
        if window_raw not in allowed_windows:
            errors[WINDOW_BLOCK] = "Choose how long the exception lasts."
        reason = (field(REASON_BLOCK).get("selected_option") or {}).get("value")
        if reason not in CHOOSABLE_REASONS:
            errors[REASON_BLOCK] = "Choose a reason."
        note = (field(NOTE_BLOCK).get("value") or "").strip()
        if len(note) > NOTE_MAX:
            errors[NOTE_BLOCK] = f"Keep the note under {NOTE_MAX} characters."
        elif reason == "other" and not note:
            errors[NOTE_BLOCK] = "Add a note when the reason is Other."
        if errors:
            raise FormErrors(errors)
        return cls(window=timedelta(minutes=int(str(window_raw))), reason_code=str(reason), note=note)


class ExplainForm(BaseModel):
    """The agent's explanation: a reason code from the unit's list, and a note (required for "other")."""

    model_config = ConfigDict(frozen=True)

    reason_code: str
    note: str = ""

    @classmethod
    def from_state(cls, values: Mapping[str, Any], allowed: Sequence[str]) -> ExplainForm:
        def field(block: str) -> Mapping[str, Any]:
            found = (values.get(block) or {}).get(FIELD) or {}
            return found if isinstance(found, Mapping) else {}

        errors: dict[str, str] = {}
        reason = (field(REASON_BLOCK).get("selected_option") or {}).get("value")
        if reason not in allowed:
            errors[REASON_BLOCK] = "Choose a reason."
        note = (field(NOTE_BLOCK).get("value") or "").strip()
        if len(note) > NOTE_MAX:
            errors[NOTE_BLOCK] = f"Keep the note under {NOTE_MAX} characters."
        elif reason == "other" and not note:
            errors[NOTE_BLOCK] = "Add a note when the reason is Other."
        if errors:
            raise FormErrors(errors)
        return cls(reason_code=str(reason), note=note)
