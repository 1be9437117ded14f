"""The one rule for agency and counter codes, used by the imports, the console and the API.

A code is 1 to 40 characters: letters without accents, digits, dots, dashes and underscores,
starting with a letter or digit, with no spaces (`Sở TP/1 ?` is refused). Codes are normalised to
upper case on every input, so `sec-a1` and `SEC-A1` are one code: `check_code` returns the code to
store, and lookups compare upper case on both sides (`same_code`), which also finds a code stored
in lower case before this rule existed.
"""

import re

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

CODE_MAX = 40
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class CodeError(ValueError):
    """A code that breaks the rule; the message says why, in the user's language."""


def code_key(text: str | None) -> str:
    """Return `text` as a code is compared and stored: stripped and in upper case."""
    return (text or "").strip().upper()


def check_code(text: str | None) -> str:
    """Return the normalised code of `text`, or raise CodeError saying what is wrong with it."""
    given = (text or "").strip()
    if not given:
        raise CodeError(_("The code is empty."))
    if len(given) > CODE_MAX:
        raise CodeError(_("The code is longer than %(n)d characters.", n=CODE_MAX))
    # Checked before upper-casing: "ß".upper() is "SS", which would pass.
    if not CODE_PATTERN.fullmatch(given):
        raise CodeError(
            _(
                "The code '%(code)s' is not valid: use letters without accents, digits, dots, "
                "dashes or underscores, starting with a letter or digit, with no spaces.",
                code=given,
            )
        )
    return code_key(given)


def same_code(column, text: str | None) -> ColumnElement[bool]:
    """Return the SQL condition that `column` holds the code `text`, whatever its case."""
    return func.upper(column) == code_key(text)
