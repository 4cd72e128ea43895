"""The packages of `bot` import one another in layers (docs/design.md, "Shape").

The graph is read from the source with `ast`, one node per package (`bot.engine`,
`bot.github`, `bot.handlers`, `bot.sandbox`) and one per top-level module of `bot/`, with an
edge wherever a module of one node imports something of another. It must have no cycle, and
the decision core, `bot.engine`, imports nothing of `bot` outside itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
PACKAGES = ("engine", "github", "handlers", "hosted", "sandbox")


def nodes() -> set[str]:
    """The packages, and each top-level module of bot/ (`bot/__init__.py` is not a node)."""
    found = {f"bot.{name}" for name in PACKAGES}
    found |= {f"bot.{path.stem}" for path in BOT.glob("*.py") if path.stem != "__init__"}
    return found


def node_of(module: str, known: set[str]) -> str | None:
    """The node `module` (a dotted name) belongs to, or None when it is none of bot's
    (another library, or a name of `bot/__init__.py` such as `bot.__version__`)."""
    node = ".".join(module.split(".")[:2])
    return node if node in known else None


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[str]:
    """Every dotted name `path` imports (anywhere in the file, typing-only imports included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    known = nodes()
    edges: dict[str, set[str]] = {node: set() for node in known}
    for path in sorted(BOT.rglob("*.py")):
        source = node_of(module_name(path), known)
        if source is None:  # bot/__init__.py
            continue
        for module in imported(path):
            target = node_of(module, known)
            if target is not None and target != source:
                edges[source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def describe(edges: dict[str, set[str]], component: list[str]) -> str:
    """The edges among the members of one cycle, for the failure message."""
    members = set(component)
    return "; ".join(
        f"{source} -> {target}"
        for source in component
        for target in sorted(edges.get(source, set()) & members)
    )


def test_no_import_cycles_between_packages() -> None:
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycles: " + " | ".join(describe(edges, c) for c in found)


def test_the_engine_imports_nothing_of_bot_outside_itself() -> None:
    assert graph()["bot.engine"] == set()


def test_the_graph_sees_the_packages() -> None:
    # A guard on the test itself: the nodes exist and a known edge is seen.
    edges = graph()
    assert {"bot.engine", "bot.github", "bot.handlers", "bot.sandbox", "bot.routing"} <= set(edges)
    assert "bot.engine" in edges["bot.handlers"]


def test_a_cycle_is_found_and_named() -> None:
    # A guard on the search itself, on a graph written out.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert describe(edges, ["a", "b", "c"]) == "a -> b; b -> c; c -> a"
