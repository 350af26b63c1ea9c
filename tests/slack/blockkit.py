"""Block Kit validation with slack_sdk's own models: every payload the bot sends must pass this."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def assert_valid_blocks(blocks: list[dict[str, Any]], *, limit: int = 50) -> None:
    assert blocks, "a message needs at least one block"
    assert len(blocks) <= limit, f"{len(blocks)} blocks > {limit}"
    parsed = Block.parse_all(blocks)
    assert all(b is not None for b in parsed), "a block type slack_sdk does not know"
    # to_dict() runs every JsonValidator (lengths, counts, styles); equality proves nothing was dropped.
    assert [b.to_dict() for b in parsed] == blocks
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique within a message"


def assert_valid_view(view: dict[str, Any]) -> None:
    limit = 100
    assert len(view["blocks"]) <= limit
    model = View(**view)
    assert model.to_dict() == view
    assert_valid_blocks(view["blocks"], limit=limit)
