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


def test_no_catalogue_is_marked_fuzzy_so_all_of_them_compile():
    module = _messages_module()
    for area in module.AREAS:
        path = module.catalogue_path(area)
        if path.exists():
            assert not module.load(area).fuzzy, f"{path} has a fuzzy header: pybabel compile would skip it"


def test_norwegian_and_english_render_from_the_compiled_catalogues(client):
    from flask_babel import force_locale, gettext
    with force_locale("nb"):
        assert gettext("Audit log") == "Revisjonslogg"
    with force_locale("en"):
        assert gettext("Audit log") == "Audit log"
