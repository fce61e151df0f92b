"""Each blueprint's pages live in the template folder of its name (issue 15): the ``bookings``
blueprint renders ``templates/bookings/``, ``auth`` renders ``templates/auth/``, ``admin``
renders ``templates/admin/`` (the outbox too, under ``admin/outbox/``).

Outside the blueprints' folders are only what no single blueprint renders: ``base.html``, the
error pages (the app's error handlers), the form macros, and the mail bodies.

The check reads the source with ``ast``: which variable holds which ``Blueprint("name")``, and,
in every function routed on a blueprint, the folder of each template path it names.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
AREAS = ("samskap", "accounts", "spaces", "booking", "reports")
SHARED = {"errors", "macros", "notifications"}  # not a blueprint's pages
# A view that shows another blueprint's page, and why.
BORROWED = {
    # a failed invitation (signin) shows the members page again, with the form's errors
    ("signin", "auth/members.html"),
}
ROUTE_METHODS = {"route", "get", "post", "put", "patch", "delete"}


def _sources():
    for area in AREAS:
        for path in sorted((ROOT / area).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def blueprint_variables(sources) -> dict[str, str]:
    """``{variable: blueprint name}`` for each ``x = Blueprint("name", ...)`` at module level."""
    found = {}
    for relative, source in sources:
        for node in ast.parse(source, relative).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and getattr(node.value.func, "id", None) == "Blueprint" and node.value.args \
                    and isinstance(node.value.args[0], ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.args[0].value
    return found


def _template_literals(node: ast.AST) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and re.fullmatch(r"[a-z_]+(/[a-z_]+)*/[a-z_]+\.(html|txt)", n.value)]


def misplaced(relative: str, source: str, blueprints: dict[str, str]) -> list[str]:
    """``"file:line: ..."`` for each template a routed view names outside its blueprint's folder."""
    problems = []
    for node in ast.walk(ast.parse(source, relative)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        names = {blueprints[d.func.value.id] for d in node.decorator_list
                 if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                 and d.func.attr in ROUTE_METHODS and isinstance(d.func.value, ast.Name)
                 and d.func.value.id in blueprints}
        for blueprint in names:
            for line, template in _template_literals(node):
                folder = template.split("/", 1)[0]
                if folder != blueprint and folder not in SHARED and (blueprint, template) not in BORROWED:
                    problems.append(f"{relative}:{line}: {node.name} (blueprint {blueprint}) renders {template}")
    return problems


def test_every_routed_view_renders_its_own_blueprints_folder():
    sources = list(_sources())
    blueprints = blueprint_variables(sources)
    assert {"bookings", "auth", "admin", "main", "signin"} <= set(blueprints.values())
    problems = [p for relative, source in sources for p in misplaced(relative, source, blueprints)]
    assert problems == []


def test_every_template_folder_is_a_blueprint_or_shared():
    names = set(blueprint_variables(list(_sources())).values())
    folders = {p.name for p in TEMPLATES.iterdir() if p.is_dir()}
    assert folders - names - SHARED == set()
    assert [p.name for p in TEMPLATES.glob("*.html")] == ["base.html"]


def test_every_template_path_named_in_code_or_templates_exists():
    """A renamed folder leaves no path behind: in Python, and in {% extends/include/import/from %}."""
    named = [(relative, line, t) for relative, source in _sources() for line, t in _template_literals(ast.parse(source))]
    for path in TEMPLATES.rglob("*.*"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"{%-?\s*(?:extends|include|import|from)\s+['\"]([^'\"]+)['\"]", text):
            named.append((path.relative_to(ROOT).as_posix(), text[:match.start()].count("\n") + 1, match.group(1)))
    missing = [f"{relative}:{line}: {t}" for relative, line, t in named
               if not (TEMPLATES / t).is_file() and not t.startswith(("static/", "translations/"))]
    assert named and missing == []


def test_the_check_finds_a_view_in_the_wrong_folder():
    source = ('from flask import Blueprint, render_template\n'
              'bookings_bp = Blueprint("bookings", __name__)\n'
              '@bookings_bp.get("/x")\n'
              'def x():\n'
              '    return render_template("booking/day.html")\n')
    blueprints = blueprint_variables([("booking/views.py", source)])
    assert misplaced("booking/views.py", source, blueprints) == [
        "booking/views.py:5: x (blueprint bookings) renders booking/day.html"]
    fixed = source.replace('"booking/day.html"', '"bookings/day.html"')
    assert misplaced("booking/views.py", fixed, blueprints) == []
