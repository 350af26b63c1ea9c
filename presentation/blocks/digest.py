"""The weekly digest as a Slack message: one section per team, the data coverage at the bottom."""

from __future__ import annotations

from presentation.blocks.format import Block, escape, mrkdwn, plain, truncate
from presentation.cards import RenderedMessage
from services.digest import UnitDigest

MAX_TEAMS = 45  # 50 blocks per message, less the header and the context lines
_TIER_NAMES = {"agent_nudge": "agent nudges", "chat_card": "cards", "email": "emails", "coaching": "coaching"}


def _team_text(team_name: str, fields: list[str]) -> str:
    return truncate(f"*{escape(team_name)}*\n" + " · ".join(fields), 3000)


def digest_message(digest: UnitDigest) -> RenderedMessage:
    blocks: list[Block] = [
        {"type": "header", "block_id": "title", "text": plain(truncate(f"Weekly adherence: {digest.mu_name}", 150))},
        {"type": "context", "block_id": "period", "elements": [mrkdwn(
            f"{digest.start:%a %d %b %H:%M} to {digest.end:%a %d %b %H:%M} UTC")]},
    ]
    for team in digest.teams[:MAX_TEAMS]:
        f = team.figures
        pct = "n/a" if team.adherence_pct is None else f"{team.adherence_pct:.1f}%"
        ack = "n/a" if f.median_ack_minutes is None else f"{f.median_ack_minutes:.1f} min"
        tiers = ", ".join(f"{count} {_TIER_NAMES.get(tier, tier)}" for tier, count in f.tiers.items()) or "no tier"
        fields = [f"adherence {pct}", f"{f.incidents} incidents", f"median time to acknowledge {ack}",
                  f"tiers reached: {tiers}"]
        if f.approvals:
            fields.append("exceptions approved: " + ", ".join(f"{escape(who)} {n}" for who, n in f.approvals.items()))
        if team.explained_names:
            fields.append("explained before the card: " + ", ".join(escape(n) for n in team.explained_names))
        blocks.append({"type": "section", "block_id": f"team.{team.team_id}"[:255],
                       "text": mrkdwn(_team_text(team.team_name, fields))})
    if len(digest.teams) > MAX_TEAMS:
        blocks.append({"type": "context", "block_id": "more", "elements": [mrkdwn(
            f"…and {len(digest.teams) - MAX_TEAMS} more teams (see the email, or `python -m bot digest`).")]})
    blocks.append({"type": "context", "block_id": "coverage", "elements": [mrkdwn(truncate(digest.coverage, 3000))]})
    return RenderedMessage(text=f"Weekly adherence digest for {digest.mu_name}", blocks=blocks)
