"""The direction of the imports between the packages, read from the source (ast): what is deployed (the
layer, the functions) never imports the development tools (liveguard_local) nor the `liveguard`
command (liveguard_ops), not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOYED = {
    "layer": REPO / "layers" / "liveguard",
    "functions": REPO / "functions",
}
NOT_DEPLOYED = ("liveguard_local", "liveguard_ops")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or anywhere below (relative imports are the file's own
    package, left out)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("deployed", sorted(DEPLOYED))
def test_deployed_code_never_imports_the_development_tools_or_the_liveguard_command(deployed: str) -> None:
    # Given every Python file of what is deployed
    files = sorted(DEPLOYED[deployed].rglob("*.py"))
    assert files
    # When their imports are read
    offending = {
        f"{path.relative_to(REPO)}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] in NOT_DEPLOYED
    }
    # Then none is of liveguard_local or liveguard_ops
    assert offending == set()
