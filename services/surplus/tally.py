"""What training in surplus delivered and cost, over a run (the demo summary and the benchmark)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.domain.surplus import interval_start
from services.surplus.desk import SurplusReport
from services.surplus.ports import Trainee


@dataclass
class SurplusTally:
    spans: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # offer id -> training time
    below: set[datetime] = field(default_factory=set)  # intervals with fewer on queue than required
    caused: set[datetime] = field(default_factory=set)  # ... and that the trainees would have covered
    recalls: int = 0
    offers: int = 0

    def record(self, report: SurplusReport, trainees: Mapping[str, Trainee]) -> None:
        self.offers += len(report.offered)
        self.recalls += len(report.recalled)
        for trainee in trainees.values():
            self.spans[trainee.offer_id] = (trainee.start, trainee.end)
        figures = report.figures
        if figures is None or not figures.required:
            return
        now = figures.at
        off_queue = sum(1 for t in trainees.values() if t.start <= now < t.end)
        if figures.available < figures.required[0]:
            self.below.add(interval_start(now))
            if figures.available + off_queue >= figures.required[0]:
                self.caused.add(interval_start(now))

    def minutes(self, now: datetime) -> float:
        """Training minutes delivered in surplus up to ``now`` (recalled trainings count up to the recall)."""
        return sum(max(0.0, (min(end, now) - start).total_seconds() / 60) for start, end in self.spans.values())
