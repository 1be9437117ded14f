"""Fill msgstrs of a catalog from a {msgid: msgstr} dict in a Python file (a translator's aid).

Usage: python translations/fill.py translations/vi/LC_MESSAGES/messages.po STRINGS.py [...]
(`make translations` runs it with every translations/strings_*.py.)
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po


def fill(po_path: str, *strings_paths: str) -> int:
    """Copy the translations of `strings_paths` (dicts named VI) into the catalog; return misses."""
    strings: dict[str, str] = {}
    for path in strings_paths:
        strings.update(runpy.run_path(path)["VI"])
    with open(po_path, "rb") as handle:
        catalog = read_po(handle)
    missing = 0
    for message in catalog:
        if not message.id:
            continue
        if message.id in strings:
            message.string = strings[message.id]
            message.flags.discard("fuzzy")
        elif not message.string:
            missing += 1
            print("untranslated:", message.id)
    with open(po_path, "wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False)
    return missing


if __name__ == "__main__":
    sys.exit(1 if fill(sys.argv[1], *sys.argv[2:]) else 0)
