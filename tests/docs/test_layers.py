"""The layer rule of ARCHITECTURE.md, held against the code: every ``pacte`` import points down the drawing.

The layers are parsed from the drawing under ``## Layers`` (a line starting at the left edge names the
packages of one layer, top first), so the document and the code cannot drift apart. Every import counts:
module level, inside functions, relative, and type-only ones under ``if TYPE_CHECKING`` (a type-only import
still couples the packages: a change below breaks the checker above).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "pacte"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

_UNIT = re.compile(r"^([a-z_][a-z0-9_]*)(/|\.py)$")


def parse_layers(markdown: str) -> list[list[str]]:
    """Return the layers of the drawing under ``## Layers``, top first, each a list of unit names.

    A unit is a package (``hub/`` gives ``hub``) or a top-level module (``errors.py`` gives ``errors``;
    ``__init__.py`` gives ``__init__``, the ``pacte`` package module itself).
    """
    section = markdown.split("\n## Layers", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None, "no drawing (fenced block) under ## Layers"
    layers: list[list[str]] = []
    for line in block.group(1).splitlines():
        if not line or line[0].isspace():
            continue  # connectors and continued descriptions are indented
        units: list[str] = []
        for word in line.split():
            m = _UNIT.match(word)
            if m is None:
                break
            units.append(m.group(1))
        assert units, f"a line of the Layers drawing names no package: {line!r}"
        layers.append(units)
    return layers


def _module_name(path: Path) -> tuple[str, bool]:
    """Return the dotted module name of a source file and whether it is a package ``__init__``."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Return the absolute names of every module an import statement of this source names, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base)
                if node.module:
                    found.add(f"{prefix}.{node.module}")
                else:  # from . import x, y: each name may be a submodule
                    found.update(f"{prefix}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def unit_of(module: str) -> str | None:
    """Return the layer unit of a ``pacte`` module name (None outside ``pacte``)."""
    parts = module.split(".")
    if parts[0] != "pacte":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def import_graph(src: Path = SRC) -> dict[str, dict[str, set[str]]]:
    """Return {unit: {imported unit: modules of the unit that import it}} over every source file."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(src.rglob("*.py")):
        module, is_package = _module_name(path)
        unit = unit_of(module)
        assert unit is not None
        targets = graph.setdefault(unit, {})
        for name in imported_modules(path.read_text(encoding="utf-8"), module, is_package):
            target = unit_of(name)
            known = target is not None and ((src / target).is_dir() or (src / f"{target}.py").is_file())
            if known and target != unit:
                assert target is not None
                targets.setdefault(target, set()).add(module)
    return graph


def violations(layers: list[list[str]], graph: Mapping[str, Mapping[str, Iterable[str]]]) -> list[str]:
    """Return every import that does not point to a strictly lower layer, and every unit placed wrongly."""
    level: dict[str, int] = {}
    problems: list[str] = []
    for depth, units in enumerate(layers):
        for unit in units:
            if unit in level:
                problems.append(f"{unit} is placed twice in the drawing")
            level[unit] = depth
    for unit in sorted(set(graph) - set(level)):
        problems.append(f"{unit} exists in src/pacte but the drawing does not place it")
    for unit in sorted(set(level) - set(graph)):
        problems.append(f"{unit} is in the drawing but not in src/pacte")
    for unit, targets in sorted(graph.items()):
        for target, modules in sorted(targets.items()):
            if unit in level and target in level and level[target] <= level[unit]:
                where = "the same layer as" if level[target] == level[unit] else "a layer above"
                problems.append(f"{unit} imports {target} ({where} it) in {', '.join(sorted(modules))}")
    return problems


def test_the_code_follows_the_drawn_layers() -> None:
    layers = parse_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    graph = import_graph()
    assert len(graph) >= 12 and sum(len(t) for t in graph.values()) >= 30  # the walk saw the real code
    assert violations(layers, graph) == []


def test_the_drawing_places_each_unit_once_and_has_layers() -> None:
    layers = parse_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    flat = [u for units in layers for u in units]
    assert len(flat) == len(set(flat))
    assert layers[0] == ["cli"] and "errors" in layers[-1]
    assert {"api", "taxii", "stream", "hub", "store", "policy", "stix", "analysis", "config"} <= set(flat)


# The checker itself, on synthetic drawings and graphs: it can fail, and says where.

DRAWING = """# T

## Layers (imports only point down)

```
top/                 a description with a.py/ words that are not units
  │
mid_a/  mid_b.py     two units of one layer
                     continued/ description
low/
```

## Next
"""


def test_the_drawing_parser_reads_units_per_line_and_skips_descriptions() -> None:
    assert parse_layers(DRAWING) == [["top"], ["mid_a", "mid_b"], ["low"]]


@pytest.mark.parametrize(("graph", "expected"), [
    ({"top": {"mid_a": {"pacte.top.x"}, "low": {"pacte.top.y"}}, "mid_a": {"low": {"pacte.mid_a"}},
      "mid_b": {}, "low": {}}, []),
    ({"top": {}, "mid_a": {"top": {"pacte.mid_a.r"}}, "mid_b": {}, "low": {}},
     ["mid_a imports top (a layer above it) in pacte.mid_a.r"]),
    ({"top": {}, "mid_a": {"mid_b": {"pacte.mid_a"}}, "mid_b": {}, "low": {}},
     ["mid_a imports mid_b (the same layer as it) in pacte.mid_a"]),
    ({"top": {}, "mid_a": {}, "mid_b": {}, "low": {}, "extra": {"low": {"pacte.extra"}}},
     ["extra exists in src/pacte but the drawing does not place it"]),
    ({"top": {}, "mid_a": {}, "low": {}}, ["mid_b is in the drawing but not in src/pacte"]),
])
def test_the_checker_fails_on_upward_same_layer_and_unplaced(graph: dict[str, dict[str, set[str]]],
                                                            expected: list[str]) -> None:
    assert violations(parse_layers(DRAWING), graph) == expected


def test_imports_are_found_everywhere_in_a_module() -> None:
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
import pacte.hub
from pacte import errors
from . import sibling
from ..store.base import Store
if TYPE_CHECKING:
    from pacte.policy import Role
def late() -> None:
    from pacte.analysis import review
"""
    names = imported_modules(source, "pacte.api.routes", is_package=False)
    units = {unit_of(n) for n in names} - {None}
    assert units == {"hub", "__init__", "errors", "api", "store", "policy", "analysis"}
    assert "pacte.api.sibling" in names and "pacte.store.base" in names
    # from a package __init__, one dot is the package itself
    found = imported_modules("from .broker import Broker", "pacte.stream", is_package=True)
    assert "pacte.stream.broker" in found
