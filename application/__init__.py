"""Use cases: application services, the emitter, the query service and the ports."""
