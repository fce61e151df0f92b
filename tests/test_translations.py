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


def test_no_catalogue_is_marked_fuzzy():
    """pybabel compile silently skips a catalogue whose header is marked fuzzy, and then
    that whole area shows English to Norwegian users."""
    module = _messages_module()
    fuzzy = [area for area in module.AREAS if module.catalogue_path(area).exists() and module.load(area).fuzzy]
    assert not fuzzy, f"remove the '#, fuzzy' line above the header of translations/<area>/nb/...: {fuzzy}"
