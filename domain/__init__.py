"""The pure domain core: aggregates, the event taxonomy, the envelope rules, domain errors.

Nothing in this package performs I/O, reads a clock or the environment: time and ids come in
as arguments. It depends on the standard library, pydantic and `eventsourcing.domain` only.
"""
