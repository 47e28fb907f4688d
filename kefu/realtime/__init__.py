"""Live delivery: the websocket hub and the event-bus adapters that feed it."""
