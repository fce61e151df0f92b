"""Layers point down only: samskap (core) <- accounts <- spaces <- booking <- reports.

A lower area never imports a higher one, at module level or inside a function; where it needs
to know something of a higher area, the higher one registers it (personal data, the catalogue's
usage, demo data, menu audiences, audit wording). The application factory (samskap/factory.py),
which assembles the app from every area, is the one exception.

The check reads the source with ``ast``: every ``import`` and ``from ... import`` anywhere in
the tree (relative ones resolved against the file's package), and ``importlib.import_module`` /
``__import__`` with a literal name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("samskap", "accounts", "spaces", "booking", "reports")  # lowest first
RANK = {area: rank for rank, area in enumerate(LAYERS)}
EXEMPT = {"samskap/factory.py"}
NOT_AREAS = {"tests", "bench"}  # top-level packages outside the layers (they may import anything)


def module_name(relative_path: str) -> str:
    parts = relative_path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve_relative(relative_path: str, level: int, module: str | None) -> str | None:
    """``from ..x import y`` in ``relative_path``: the absolute module name, or None if it climbs
    above the top-level package."""
    package = module_name(relative_path).split(".")
    if not relative_path.endswith("__init__.py"):
        package = package[:-1]
    if level - 1 >= len(package):
        return None
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports(relative_path: str, source: str) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the source, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(source, relative_path)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_relative(relative_path, node.level, node.module) if node.level else node.module
            if target:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(relative_path: str, source: str) -> list[str]:
    """``"file:line: area imports higher.module"`` for each import of a higher area."""
    area = relative_path.split("/", 1)[0]
    if area not in RANK or relative_path in EXEMPT:
        return []
    problems = []
    for line, target in imports(relative_path, source):
        target_area = target.split(".", 1)[0]
        if target_area in RANK and RANK[target_area] > RANK[area]:
            problems.append(f"{relative_path}:{line}: {area} imports {target} (a higher area: register instead)")
    return problems


def area_files() -> list[Path]:
    return sorted(path for area in LAYERS for path in (ROOT / area).rglob("*.py"))


def test_every_top_level_package_is_a_layer_or_known():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - NOT_AREAS == set(LAYERS), "a new top-level package needs its place in LAYERS"


def test_no_area_imports_a_higher_one():
    files = area_files()
    for area in LAYERS:  # the check cannot pass by reading nothing
        assert sum(1 for f in files if f.relative_to(ROOT).parts[0] == area) >= 3, area
    problems = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        problems += upward_imports(relative, path.read_text(encoding="utf-8"))
    assert not problems, "Imports that point up the layers:\n" + "\n".join(problems)


@pytest.mark.parametrize("path, source, expected", [
    ("samskap/nav.py", "from accounts.permissions import is_admin\n", ["samskap/nav.py:1: samskap imports accounts"]),
    ("accounts/services.py", "import os\n\n\ndef export(user):\n    from booking.models import Booking\n",
     ["accounts/services.py:5: accounts imports booking.models"]),
    ("spaces/services.py", "import booking.services as bs\n", ["spaces/services.py:1: spaces imports booking"]),
    ("booking/views.py", "class V:\n    def m(self):\n        from reports import charts\n",
     ["booking/views.py:3: booking imports reports"]),
    ("samskap/cli.py", "import importlib\nimportlib.import_module('spaces.demo')\n",
     ["samskap/cli.py:2: samskap imports spaces.demo"]),
    ("samskap/demo.py", "__import__('booking.models')\n", ["samskap/demo.py:1: samskap imports booking.models"]),
    ("samskap/x.py", "if True:\n    try:\n        import reports.api, os\n    except ImportError:\n        pass\n",
     ["samskap/x.py:3: samskap imports reports.api"]),
    # relative imports resolved against the package: spaces/sub/__init__.py's ``..`` is spaces
    ("spaces/sub/__init__.py", "from ..services import x\n", []),
    ("samskap/x.py", "from accounts import models\nfrom spaces import models\n",
     ["samskap/x.py:1: samskap imports accounts", "samskap/x.py:2: samskap imports spaces"]),
])
def test_the_check_names_each_upward_import_with_file_and_line(path, source, expected):
    problems = upward_imports(path, source)
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected):
        assert problem.startswith(start)


@pytest.mark.parametrize("path, source", [
    ("reports/services.py", "from booking.models import Booking\nfrom accounts.models import User\n"),
    ("booking/demo.py", "from spaces.models import Space\nimport samskap.demo\n"),
    ("spaces/services.py", "from spaces.models import Space\nfrom .hours import open_intervals\n"),
    ("accounts/x.py", "import bookingtools\nfrom reportslib import r\n"),  # other packages that merely start alike
    ("samskap/factory.py", "from booking.views import bookings_bp\nfrom reports import init_app\n"),  # the exception
    ("tests/test_x.py", "from reports import charts\n"),  # not an area
])
def test_imports_that_point_down_or_sideways_pass(path, source):
    assert upward_imports(path, source) == []


def test_relative_imports_resolve_against_the_files_package():
    assert imports("booking/equipment/views.py", "from . import services\nfrom ..models import B\n") == [
        (1, "booking.equipment"), (2, "booking.models")]
    assert imports("booking/equipment/__init__.py", "from .services import x\n") == [(1, "booking.equipment.services")]
    assert imports("spaces/views.py", "from ... import nowhere\n") == []
