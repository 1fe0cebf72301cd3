"""The pure domain core: aggregates, the event taxonomy, the envelope rules, domain errors.

Nothing in this package performs I/O, reads a clock or the environment: time and ids come in
as arguments. It depends on the standard library, pydantic and `eventsourcing.domain` only.

Importing any part of it registers the event types the aggregates declare (`catalog`), so
the taxonomy is complete before anything looks a type up.
"""

from domain import catalog as _catalog
from domain import taxonomy as _taxonomy

_taxonomy.register(_catalog.declared_specs(), _catalog.declared_aliases())
