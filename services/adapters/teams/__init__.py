"""Microsoft Teams: tier 1 and its updates as Adaptive Cards posted to a team's Workflows webhook."""
