"""List the import cycles of nexosis_pandas, counting every import.

grimp (import-linter's graph library) reads each module's syntax tree, so an import counts
wherever it is written: at module level, under ``if TYPE_CHECKING:`` and inside a function.
A cycle is printed as a strongly connected component of more than one module, with the
imports that close it. Exit status 1 when any cycle is left.

Run: ``python .ci/import_cycles.py``
"""

from __future__ import annotations

import sys

import grimp


def components(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's strongly connected components of the graph restricted to ``modules``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module) & modules):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def main() -> int:
    graph = grimp.build_graph("nexosis_pandas", exclude_type_checking_imports=False, cache_dir=None)
    modules = set(graph.modules)
    cycles = components(graph, modules)
    for number, component in enumerate(sorted(cycles, key=len, reverse=True), 1):
        print(f"cycle {number}: {len(component)} modules")
        members = set(component)
        for module in component:
            for imported in sorted(graph.find_modules_directly_imported_by(module) & members):
                lines = graph.get_import_details(importer=module, imported=imported)
                where = ", ".join(str(line["line_number"]) for line in lines)
                print(f"  {module} -> {imported}  (line {where})")
    print(f"{len(cycles)} cycle(s), {sum(map(len, cycles))} modules in them")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
