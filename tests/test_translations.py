"""Every user-facing string has a Norwegian translation, and both languages render."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _messages_module():
    spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_id_has_a_norwegian_translation():
    missing = _messages_module().untranslated()
    assert not missing, "untranslated (run scripts/messages.py AREA and translate):\n" + "\n".join(
        f"  {msgid!r} at {', '.join(places)}" for msgid, places in missing)


def test_placeholders_survive_translation():
    import re
    module = _messages_module()
    for area in module.AREAS:
        for message in module.load(area):
            if message.id and message.string:
                assert set(re.findall(r"%\((\w+)\)", message.id)) == set(re.findall(r"%\((\w+)\)", message.string)), \
                    f"{area}: placeholders differ in {message.id!r}"


def _areas_with_sources(module) -> list[str]:
    return [area for area in module.AREAS if module.files_for(area)]


def test_every_area_with_code_has_its_catalogue():
    module = _messages_module()
    areas = _areas_with_sources(module)
    assert {"core", "spaces", "booking", "equipment", "feeds"} <= set(areas)
    missing = [str(module.catalogue_path(area).relative_to(ROOT)) for area in areas
               if not module.catalogue_path(area).exists()]
    assert not missing, "catalogues missing (run scripts/messages.py AREA): " + ", ".join(missing)


def test_no_catalogue_is_marked_fuzzy_so_all_of_them_compile():
    module = _messages_module()
    for area in _areas_with_sources(module):
        path = module.catalogue_path(area)
        assert path.exists(), f"{path} is missing"
        assert not module.load(area).fuzzy, f"{path} has a fuzzy header: pybabel compile would skip it"


def test_the_app_speaks_every_areas_catalogue(client):
    """Each area's compiled catalogue is loaded: a message only that area translates renders in nb
    (a catalogue left uncompiled, or not found by the app, would render in English)."""
    from flask_babel import force_locale, gettext

    module = _messages_module()
    catalogues = {area: module.load(area) for area in _areas_with_sources(module)}
    for area, catalogue in catalogues.items():
        others = set().union(*({m.id for m in c if m.id} for a, c in catalogues.items() if a != area))
        own = [m for m in catalogue if m.id and isinstance(m.id, str) and m.string and m.id not in others
               and "%" not in m.id and m.string != m.id]
        assert own, f"{area}: no message of its own to check"
        with force_locale("nb"):
            assert gettext(own[0].id) == own[0].string, f"{area}'s catalogue is not loaded (compiled?)"


def test_norwegian_and_english_render_from_the_compiled_catalogues(client):
    from flask_babel import force_locale, gettext
    with force_locale("nb"):
        assert gettext("Audit log") == "Revisjonslogg"
    with force_locale("en"):
        assert gettext("Audit log") == "Audit log"
