"""Slack views listeners, one module per topic; all registered in handlers/app.py."""
