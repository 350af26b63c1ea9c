"""What people read: wording, Slack Block Kit builders, email and Teams bodies. Pure: data in, text out.

Both sides use it: ``handlers/`` (listeners answer with these builders) and the adapters in
``services/adapters`` (which only send what these functions build). It imports the domain, the ports
and the use cases' read models, never an adapter, a listener or a transport client.
"""
