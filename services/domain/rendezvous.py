"""Rendezvous (highest-random-weight) hashing: which live replica owns which management unit.

Every replica computes the same answer from the same list of live replicas, without talking to
the others. When a replica joins or leaves, only the units it gains or loses move (about 1/n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _weight(replica_id: str, unit_id: str) -> int:
    digest = hashlib.blake2b(f"{replica_id}\x00{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_of(unit_id: str, replicas: Iterable[str]) -> str | None:
    """The replica with the highest weight for this unit (ties broken by id); None without replicas."""
    best: tuple[int, str] | None = None
    for replica in replicas:
        candidate = (_weight(replica, unit_id), replica)
        if best is None or candidate > best:
            best = candidate
    return best[1] if best else None


def units_of(replica_id: str, unit_ids: Iterable[str], replicas: Iterable[str]) -> list[str]:
    """The units ``replica_id`` owns among ``replicas`` (it counts itself as live even if not listed)."""
    live = sorted({*replicas, replica_id})
    return [unit for unit in unit_ids if owner_of(unit, live) == replica_id]
