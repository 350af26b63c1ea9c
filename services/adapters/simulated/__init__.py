"""The simulated contact center: the bot's embedded WFM + presence source and QM system."""

from services.adapters.simulated.catalog import ACTIVITY_CODES, ActivityCode
from services.adapters.simulated.qm import CoachingAppointment, SimulatedQM
from services.adapters.simulated.scenarios import Scenario, ScenarioKind
from services.adapters.simulated.source import SimulatedContactCenter, UnknownManagementUnit
from services.adapters.simulated.world import day_start

__all__ = [
    "ACTIVITY_CODES",
    "ActivityCode",
    "CoachingAppointment",
    "Scenario",
    "ScenarioKind",
    "SimulatedContactCenter",
    "SimulatedQM",
    "UnknownManagementUnit",
    "day_start",
]
