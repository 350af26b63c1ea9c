"""Pure Block Kit builders: data in, ``blocks`` / ``view`` dicts out. No I/O, no Slack client."""
