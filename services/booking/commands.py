"""The words ``/book-meeting`` knows, and the rule that still lets people type a title.

Rule: the first word is a command when it is one of :data:`WORDS` and what follows fits it
(``list``, ``queue``, ``help`` take nothing; ``optimise`` takes a number of days; ``register``
a request id). A single word that is *close* to a command word (``lsit``) is not taken as a title:
the caller is asked "did you mean `list`?". Anything else, e.g. ``Team sync`` or ``help desk
training``, is the form's prefill text; quote it (``"list"``) to use a command word as the title.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

WORDS: dict[str, str] = {
    "list": "your upcoming bookings, with Cancel and Reschedule",
    "queue": "the requests that need a scheduler",
    "optimise": "re-plan the next N days of bookings together (`optimise 7`)",
    "register": "the attendance register of a booking (`register ID`)",
    "help": "what /book-meeting understands",
}
ALIASES = {"optimize": "optimise", "review": "queue", "?": "help", "ls": "list", "mine": "list"}
_TAKES_NOTHING = ("list", "queue", "help")


@dataclass(frozen=True, slots=True)
class Command:
    word: str | None  # None: not a command (open the form with ``rest`` as prefill text)
    rest: str
    did_you_mean: str | None = None  # set when the text looked like a mistyped command word


def read_command(text: str) -> Command:
    stripped = text.strip()
    head, _, rest = stripped.partition(" ")
    rest = rest.strip()
    low = head.lower()
    word = ALIASES.get(low, low)
    if word in WORDS:
        if word in _TAKES_NOTHING and rest:
            return Command(None, stripped)  # "help desk training": a title that starts with a command word
        if word == "optimise" and rest and not rest.isdigit():
            return Command(None, stripped)
        return Command(word, rest)
    if head and not rest and head[:1] not in "\"'" and ":" not in head:
        close = difflib.get_close_matches(low, [*WORDS, *ALIASES], n=1, cutoff=0.75)
        if close:
            return Command(None, stripped, did_you_mean=ALIASES.get(close[0], close[0]))
    return Command(None, stripped)
