#!/usr/bin/env python3
"""Extract translatable strings per area and merge them into that area's nb catalogue.

    .venv/bin/python scripts/messages.py AREA      # e.g. core, spaces, booking, equipment, feeds
    .venv/bin/python scripts/messages.py --check   # list message ids with no nb translation

Each area owns ``translations/<area>/nb/LC_MESSAGES/messages.po``; the app loads
them all (English is the source language). Areas are separate so that work on
one part of the product never edits another part's catalogue.
"""
from __future__ import annotations

import glob
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}

# Which source files belong to which area (globs relative to the repository root).
AREAS = {
    "core": ["samskap/**/*.py", "accounts/**/*.py", "templates/*.html", "templates/errors/**/*.html",
             "templates/main/**/*.html",
             "templates/macros/**/*.html", "templates/auth/**/*.html", "templates/admin/**/*.html"],
    "spaces": ["spaces/**/*.py", "templates/spaces/**/*.html", "templates/catalogue_admin/**/*.html"],
    "booking": ["booking/*.py", "templates/bookings/**/*.html"],
    "equipment": ["booking/equipment/**/*.py", "templates/equipment_reservations/**/*.html"],
    "feeds": ["booking/feeds/**/*.py", "templates/feeds/**/*.html"],
    "audit": ["audit/**/*.py", "templates/audit/**/*.html"],
    "fairuse": ["booking/fairuse/**/*.py", "templates/fairuse/**/*.html"],
    "notifications": ["booking/notifications/**/*.py", "samskap/mail.py",
                      "samskap/worker.py", "accounts/outbox_views.py", "templates/notifications/**/*.html",
                      "templates/notifications/**/*.txt", "templates/admin/outbox/**/*.html"],
    "signin": ["accounts/signin/**/*.py", "templates/signin/**/*.html", "templates/signin/**/*.txt"],
    "reports": ["reports/**/*.py", "templates/reports/**/*.html"],
    "projects": ["booking/projects/**/*.py", "templates/projects/**/*.html"],
    "registrations": ["booking/registrations/**/*.py", "templates/registrations/**/*.html",
                      "templates/registrations/**/*.txt", "templates/guest_data/**/*.html",
                      "templates/guest_data/**/*.txt"],
}
EXCLUDE = ("booking/equipment/", "booking/feeds/", "booking/fairuse/", "booking/projects/", "booking/registrations/")
# Files under another area's globs that belong to the notifications area.
NOTIFICATION_FILES = ("samskap/mail.py", "samskap/worker.py", "accounts/outbox_views.py",
                      "templates/admin/outbox/index.html", "templates/admin/outbox/message.html")
# Sub-packages with an area of their own, left out of the area whose globs also cover them.
EXCLUDE_FROM = {"booking": EXCLUDE, "core": ("accounts/signin/",)}


def files_for(area: str) -> list[Path]:
    found = set()
    for pattern in AREAS[area]:
        for name in glob.glob(str(ROOT / pattern), recursive=True):
            rel = Path(name).relative_to(ROOT).as_posix()
            if rel.startswith(EXCLUDE_FROM.get(area, ())):
                continue
            if area == "core" and rel in NOTIFICATION_FILES:
                continue
            found.add(Path(name))
    return sorted(found)


def extract(paths) -> dict[str, list[str]]:
    messages: dict[str, list[str]] = {}
    for path in paths:
        method = "jinja2" if path.suffix in (".html", ".txt") else "python"
        options = {"extensions": "jinja2.ext.do"} if method == "jinja2" else {}
        for lineno, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS,
                                                                        options=options):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    messages.setdefault(msgid, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return messages


def catalogue_path(area: str) -> Path:
    return ROOT / "translations" / area / "nb" / "LC_MESSAGES" / "messages.po"


def load(area: str) -> Catalog:
    path = catalogue_path(area)
    if not path.exists():
        return Catalog(locale="nb", project="Samskap")
    with path.open("rb") as fh:
        return read_po(fh, locale="nb")


def update(area: str) -> None:
    found = extract(files_for(area))
    old = load(area)
    # Not fuzzy: pybabel compile skips a catalogue whose header is marked fuzzy.
    new = Catalog(locale="nb", project="Samskap", fuzzy=False)
    for msgid in sorted(found):
        existing = old.get(msgid)
        new.add(msgid, existing.string if existing else "")
    path = catalogue_path(area)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, new, omit_header=False, sort_output=True, no_location=True, width=120)
    missing = [m.id for m in new if m.id and not m.string]
    print(f"{area}: {len(found)} messages, {len(missing)} without nb translation")
    for msgid in missing:
        print("  ", msgid)


def untranslated() -> list[tuple[str, list[str]]]:
    """Message ids used anywhere in the product that no area's nb catalogue translates."""
    translated = set()
    for area in AREAS:
        translated |= {m.id for m in load(area) if m.id and m.string}
    everything = {}
    for area in AREAS:
        for msgid, places in extract(files_for(area)).items():
            everything.setdefault(msgid, []).extend(places)
    return sorted((m, p) for m, p in everything.items() if m not in translated)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--check"]:
        missing = untranslated()
        for msgid, places in missing:
            print(f"{msgid!r} ({', '.join(places)})")
        sys.exit(1 if missing else 0)
    if len(args) != 1 or args[0] not in AREAS:
        sys.exit(f"usage: messages.py AREA | --check   (areas: {', '.join(AREAS)})")
    update(args[0])
