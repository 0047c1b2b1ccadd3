"""The shape of the code: imports between eventsite's modules run one way, never round.

`lint-imports` (`make lint`) checks which packages may import which; this checks that no
two or more modules import each other, directly or through others, whatever the layer."""

from __future__ import annotations

import grimp


def _import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted: a module
    is in one when it imports (through others) a module that imports it."""
    cycles: set[frozenset[str]] = set()
    for module in graph.modules:
        round_trip = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if round_trip:
            cycles.add(frozenset({module, *round_trip}))
    return sorted(sorted(cycle) for cycle in cycles)


def _describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = [" ⇄ ".join(cycle)]
    for importer in cycle:
        for imported in cycle:
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_no_module_of_eventsite_imports_itself_round_a_cycle() -> None:
    graph = grimp.build_graph("eventsite", exclude_type_checking_imports=True, cache_dir=None)
    assert "eventsite.organiser.views" in graph.modules  # the whole package was read
    cycles = _import_cycles(graph)
    assert not cycles, "Import cycles:\n" + "\n".join(_describe(graph, c) for c in cycles)


def test_a_cycle_through_several_modules_is_found() -> None:
    """The check itself: a ring of three modules is one cycle, a one-way import is none."""
    graph = grimp.ImportGraph()
    for importer, imported in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")
    assert _import_cycles(graph) == [["a", "b", "c"]]
