"""``antrean/__init__.py`` promises that only ``antrean.store`` imports SQLAlchemy: the rules,
the booking service and the staff tools reach a database through the store's adapters."""
from __future__ import annotations

import ast
from pathlib import Path

import antrean

PACKAGE = Path(antrean.__file__).parent
STORE = PACKAGE / "store"
DATABASE_LIBRARIES = ("sqlalchemy", "alembic")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_only_the_store_imports_sqlalchemy():
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            name for name in imported_modules(path)
            if name.split(".")[0] in DATABASE_LIBRARIES
        )
        for path in sorted(PACKAGE.rglob("*.py"))
        if STORE not in path.parents
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from sqlalchemy.exc import SQLAlchemyError\n")
    assert imported_modules(module) == {"sqlalchemy.exc"}
