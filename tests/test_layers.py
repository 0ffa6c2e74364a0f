"""The layers in docs/architecture.md hold: no module imports a layer below its own.

Imports inside `if TYPE_CHECKING:` blocks are for type checkers and never run; they are
left out.
"""

from __future__ import annotations

import ast

from conftest import ROOT

# The table of docs/architecture.md, top (imported by everything) to bottom.
LAYERS = [
    (
        "leaves",
        [
            "ids",
            "jsoncodec",
            "redact",
            "metrics",
            "expressions",
            "expression_limits",
            "config",
            "console",
            "egress",
            "codestep",
        ],
    ),
    ("SDK", ["sdk"]),
    ("apps", ["apps"]),
    ("model parts", ["model", "model.base", "model.settings", "model.triggers"]),
    ("step kinds", ["steps"]),
    ("model", ["model.workflow", "model.loader"]),
    ("store", ["store"]),
    ("engine", ["engine"]),
    ("services", ["workflows", "accounts", "datastores", "users", "triggers", "audit"]),
    ("process", ["runtime"]),
    ("interfaces", ["server", "cli", "sandbox"]),
]
SRC = ROOT / "src"


def layer(module: str) -> int | None:
    """The layer of `relayflow.<module>`: its longest matching prefix in LAYERS."""
    name = module.removeprefix("relayflow").lstrip(".")
    if not name:  # the package itself: a docstring
        return 0
    best: tuple[int, int] | None = None
    for index, (_label, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return best[0] if best else None


def runtime_imports(tree: ast.AST) -> list[str]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("relayflow"):
            found.append(node.module or "")
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("relayflow"))
    return found


def test_no_module_imports_a_layer_below_its_own() -> None:
    upward = []
    for path in sorted((SRC / "relayflow").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        own = layer(module)
        assert own is not None, f"{module} is in no layer of docs/architecture.md"
        for imported in runtime_imports(ast.parse(path.read_text())):
            theirs = layer(imported)
            if theirs is not None and theirs > own:
                upward.append(
                    f"{module} ({LAYERS[own][0]}) imports {imported} ({LAYERS[theirs][0]})"
                )
    assert upward == []


def test_apps_import_only_the_sdk_and_themselves() -> None:
    found = []
    for path in sorted((SRC / "relayflow" / "apps").rglob("*.py")):
        parts = path.relative_to(SRC / "relayflow" / "apps").parts
        own = f"relayflow.apps.{parts[0]}" if len(parts) > 1 else "relayflow.apps"
        for imported in runtime_imports(ast.parse(path.read_text())):
            if not imported.startswith(("relayflow.sdk", own)):
                found.append(f"{path.relative_to(SRC)} imports {imported}")
    assert found == []


def test_the_table_in_the_docs_is_this_table() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    rows = [line.split("|")[1].strip() for line in page.splitlines() if line.startswith("| ")]
    assert rows[1:] == [label for label, _ in LAYERS]
