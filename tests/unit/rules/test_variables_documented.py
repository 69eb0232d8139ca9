"""The rules reference documents the variables from the same table the loader and the engine use:
every variable in ``liveguard.rules.variables.VARIABLES`` has a row in docs/rules.md with its type, and
the docs name no variable that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from liveguard.rules.variables import VARIABLES

DOCS = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def documented_variables() -> dict[str, str]:
    """{name: type} from the Templates section's table (a row may name two variables and two types)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Templates") :]
    section = section[: section.index("\n## ", 1)]
    found: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([a-z_]+)`", cells[0])
        kinds = [kind.strip() for kind in cells[1].split(",")]
        for index, name in enumerate(names):
            found[name] = kinds[min(index, len(kinds) - 1)]
    return found


def test_every_variable_is_documented_with_its_type_and_no_other():
    documented = documented_variables()
    assert documented == {name: variable.kind for name, variable in VARIABLES.items()}
