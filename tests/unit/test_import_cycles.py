"""No module of ours imports itself back, directly or through others (function-level
imports included): `lint-imports` keeps the layers apart, this keeps each layer acyclic
(the CLI's app with its command groups, the CLI entrypoint with the demo, ...)."""

from __future__ import annotations

import grimp

PACKAGES = ("domain", "application", "adapters", "entrypoints")


def test_there_is_no_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.add(" -> ".join((module, *back)))
    assert sorted(cycles) == []
