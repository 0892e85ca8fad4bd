"""The composition root: settings, clients, platform choice, telemetry, the worker loop."""
