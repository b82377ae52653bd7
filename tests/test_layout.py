"""The core's shape: sub-packages that import only downward, short modules, one owner of file locations."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "similarity"
FLOORS = ["limits", "words", "storage", "encoders", "ingest", "search", "lab", "views"]  # bottom to top
# Modules that import torch at their top: imported inside the functions that build a PyTorch tower, so the
# app, which runs on ONNX Runtime, starts without torch (~5 s); still counted for floors and circles.
TORCH_MODULES = {"similarity.encoders.lite", "similarity.encoders.picture_tower"}
RUNTIME = [ROOT / "app.py", *(p for d in ("app_pages", "ui", "similarity") for p in (ROOT / d).rglob("*.py"))]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported similarity module, imported inside a function?) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("similarity"):
            for alias in node.names:  # `from similarity.search import ann` imports the module ann
                name = f"{node.module}.{alias.name}"
                found.append((name if is_module(name) else node.module, id(node) in nested))
        elif isinstance(node, ast.Import):
            found += [(a.name, id(node) in nested) for a in node.names if a.name.startswith("similarity")]
    return found


def floor(module: str) -> int:
    return FLOORS.index(module.split(".")[1]) if module.count(".") else -1


def graph() -> dict[str, set[str]]:
    return {module_name(p): {m for m, _ in imports(p)} for p in CORE.rglob("*.py")}


def test_sub_packages_import_only_downward_and_never_inside_a_function():
    for path in CORE.rglob("*.py"):
        me = module_name(path)
        for module, in_function in imports(path):
            assert not in_function or module in TORCH_MODULES, f"{me} imports {module} inside a function (a circle?)"
            if me.count(".") >= 1 and module.count(".") >= 1:
                assert floor(module) <= floor(me), f"{me} imports {module}: upward (order: {' <- '.join(FLOORS)})"


def test_there_is_no_import_circle():
    edges = graph()
    assert sum(map(len, edges.values())) > 50  # the imports were read

    def visit(node: str, path: list[str]) -> None:
        assert node not in path, "import circle: " + " -> ".join([*path[path.index(node) :], node])
        for nxt in edges.get(node, ()):
            visit(nxt, [*path, node])

    for start in edges:
        visit(start, [])


def test_no_runtime_module_is_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in RUNTIME if (n := len(p.read_text().splitlines())) > 300}
    assert not long, f"split these by job: {long}"


def test_only_the_paths_module_decides_where_files_live():
    settings = {
        "XDG_CACHE_HOME",
        "CLIP_EXPLORER_CACHE",
        "CLIP_EXPLORER_INDEX",
        "CLIP_EXPLORER_ALLOWED_FOLDERS",
        ".cache",
    }
    owners = set()
    for path in RUNTIME:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Constant) and node.value in settings) or (
                isinstance(node, ast.Attribute) and node.attr == "home"
            ):
                owners.add(str(path.relative_to(ROOT)))
    assert owners == {"similarity/storage/paths.py"}, owners
