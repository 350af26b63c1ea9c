"""Training in surplus: offer self-paced training to idle agents while the floor has more staff than
the requirement, write it to the WFM on Start, and recall trainees when service needs them."""

from services.surplus.desk import Decision, SurplusDesk, SurplusReport, SurplusStatus
from services.surplus.ports import Offer, SurplusNotifier, SurplusStore, Trainee
from services.surplus.requirement import DemandRequirement, RequirementSource
from services.surplus.tally import SurplusTally

__all__ = [
           "Decision",
           "DemandRequirement",
           "Offer",
           "RequirementSource",
           "SurplusDesk",
           "SurplusNotifier",
           "SurplusReport",
           "SurplusStatus",
           "SurplusStore",
           "SurplusTally",
           "Trainee",
]
