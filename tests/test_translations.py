"""Every string the platform shows has a Vietnamese translation, compiled and consistent."""

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
VI_PO = ROOT / "translations/vi/LC_MESSAGES/messages.po"
VI_MO = ROOT / "translations/vi/LC_MESSAGES/messages.mo"
METHODS = [("survey/**.py", "python"), ("templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_source_string_is_translated_into_vietnamese():
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    missing = [m for m in source_messages() if not (catalog.get(m) and catalog.get(m).string)]
    assert missing == [], (
        "run `make translations`, then translate them in translations/vi/LC_MESSAGES/messages.po"
    )
    # A fuzzy entry is a guess pybabel made: gettext does not show it, so it counts as missing.
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], "check these in translations/vi/LC_MESSAGES/messages.po, then unmark them"


def test_placeholders_agree_between_english_and_vietnamese():
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []


def test_compiled_catalog_matches_the_po_file():
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    with VI_MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    def compiled_text(message):
        # Vietnamese has one plural form: a plural message compiles to its one string.
        if message.pluralizable:
            return (compiled.ngettext(message.id[0], message.id[1], 1),)
        return compiled.gettext(message.id)

    expected = {m.id: (m.string[:1] if m.pluralizable else m.string) for m in catalog if m.id}
    stale = [m.id for m in catalog if m.id and compiled_text(m) != expected[m.id]]
    assert stale == [], "run `make translations` to compile the catalog"
