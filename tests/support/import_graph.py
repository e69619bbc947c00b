"""The import graph between distr's apps, read from the source (module and function-level
imports alike, so a cycle hidden in a function body counts)."""

import ast
from dataclasses import dataclass
from pathlib import Path

# Bottom to top: an app may import the apps listed for it, nothing else
# (docs/architecture.md draws the same picture and says why).
LAYERS: dict[str, set[str]] = {
    "core": set(),
    "customers": {"core"},
    "signing": {"core", "customers"},
    "registry": {"core", "customers"},
    "licensing": {"core", "customers", "signing", "registry"},
    "analytics": {"core", "customers", "signing", "registry", "licensing"},
    "airgap": {"core", "customers", "signing", "registry", "licensing", "analytics"},
    "webhooks": {"core", "customers", "signing", "registry", "licensing", "analytics"},
    "lifecycle": {"core", "customers", "signing", "registry", "licensing", "analytics"},
    "portal": {
        "core",
        "customers",
        "signing",
        "registry",
        "licensing",
        "analytics",
        "airgap",
        "webhooks",
        "lifecycle",
    },
    "api": {
        "core",
        "customers",
        "signing",
        "registry",
        "licensing",
        "analytics",
        "airgap",
        "webhooks",
        "lifecycle",
        "portal",
    },
    "ops": {"core", "customers", "registry"},
    "distr": {
        "core",
        "customers",
        "signing",
        "registry",
        "licensing",
        "analytics",
        "airgap",
        "webhooks",
        "lifecycle",
        "portal",
        "ops",
        "api",
    },
}


@dataclass(frozen=True)
class Import:
    source: str  # file, relative to the root
    line: int
    importer: str  # app
    imported: str  # app


def app_imports(root: Path, apps=tuple(LAYERS)) -> list[Import]:
    """Every import of one of `apps` by another, under `root` (migrations excluded: they
    name other apps' migrations, which is Django's dependency graph, not code)."""
    found = []
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in apps and top != app:
                        found.append(Import(str(path.relative_to(root)), node.lineno, app, top))
    return found


def layering_violations(root: Path, layers=LAYERS) -> list[str]:
    return [
        f"{i.source}:{i.line}: {i.importer} imports {i.imported}"
        for i in app_imports(root, tuple(layers))
        if i.imported not in layers[i.importer]
    ]


def cycles(root: Path, apps=tuple(LAYERS)) -> list[tuple[str, str]]:
    """Pairs of apps that import each other, directly or through others."""
    edges: dict[str, set[str]] = {app: set() for app in apps}
    for i in app_imports(root, apps):
        edges[i.importer].add(i.imported)

    def reachable(start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    reach = {app: reachable(app) for app in apps}
    return sorted((a, b) for a in apps for b in reach[a] if a < b and a in reach[b])
