"""The first seed's in-process Python API (publishers, enums, query service, decorators).

Import it as `entrypoints.events` (and `entrypoints.events.integration`), which wires it to
the application built from the settings; this package holds the adapter itself.
"""
