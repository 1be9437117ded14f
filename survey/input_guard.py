"""Refuse malformed input before any view or the database sees it.

A NUL byte or text that is not UTF-8 (a lone surrogate among it) in the path, the query or a
form value is a 400 in the visitor's language (JSON under /api/): PostgreSQL refuses NUL in text
and no hash or database takes a lone surrogate. The platform takes no uploads, so a file part
is refused too. Integer URL parts beyond the databases' integer range are a 404, not an
overflow inside the query. JSON nested too deeply for the parser is malformed JSON (a 400 from
`request.get_json()`, or None with `silent=True`), not a RecursionError.
"""

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

# The largest id any database stores: PostgreSQL's INTEGER (SQLite's is wider).
MAX_ID = 2**31 - 1

BAD_CHARACTERS = _l(
    "The request contains invalid characters (a NUL byte or text that is not UTF-8). "
    "Please go back, check what you typed and try again."
)
FILE_PART = _l("This form takes text only: a file was sent in place of an answer.")
NOT_JSON = _l("Send the body as JSON, with the header Content-Type: application/json.")


class BadInput(BadRequest):
    """A 400 whose `user_message` says what was wrong (shown by survey.errors)."""

    def __init__(self, user_message):
        super().__init__(description=str(user_message))
        self.user_message = user_message


class NotJson(UnsupportedMediaType):
    """A 415 of the API: a body that does not say it is JSON."""

    def __init__(self):
        super().__init__()
        self.user_message = NOT_JSON


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` limited to the ids a database can hold: a larger number matches no page.

    ASCII digits only: Werkzeug's own accepts any Unicode digit, so `/console/counters/٣` (an
    Arabic-Indic 3) would act on counter 3 under a URL that names no counter.
    """

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


# A NUL, or a lone surrogate (text that came from no valid UTF-8).
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def _bad_text(text: str) -> bool:
    return _BAD_CHARACTER.search(text) is not None


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")  # strict: malformed bytes and encoded surrogates fail
    except UnicodeDecodeError:
        return None


def check_request() -> None:
    """Raise BadInput for a NUL byte, non-UTF-8 text or a file part anywhere in the request."""
    environ = request.environ
    # PATH_INFO holds the raw bytes as Latin-1 (PEP 3333); the query is still percent-encoded.
    path = _utf8(environ.get("PATH_INFO", "").encode("latin-1", "replace"))
    query = _utf8(unquote_to_bytes(environ.get("QUERY_STRING", "").replace("+", " ")))
    if path is None or query is None or _bad_text(path) or _bad_text(query):
        raise BadInput(BAD_CHARACTERS)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.path.startswith("/api/"):
        if not request.is_json and request.content_length:
            raise NotJson()
        return
    if request.mimetype == "application/x-www-form-urlencoded":
        # Werkzeug keeps an undecodable %-escape as it is (the text "%ED%A0%80"): read the
        # body strictly. It is cached, and the form is parsed from the cache afterwards. A
        # body that decodes strictly and holds no NUL has no bad value: the citizen's form,
        # the busiest request, is checked once, not value by value.
        raw = request.get_data(cache=True).replace(b"+", b" ")
        decoded = _utf8(unquote_to_bytes(raw))
        if decoded is None or "\x00" in decoded:
            raise BadInput(BAD_CHARACTERS)
        return
    if request.files:
        raise BadInput(FILE_PART)
    for key, value in request.form.items(multi=True):
        if _bad_text(key) or _bad_text(value) or "\ufffd" in value:
            # Werkzeug decodes a form's malformed UTF-8 as U+FFFD: refused like the query's.
            raise BadInput(BAD_CHARACTERS)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with nesting deep enough to exhaust the parser read as malformed JSON.

    `request.get_json()` turns a ValueError into a 400 (None when silent); a RecursionError
    went on up as a 500 (the kiosk's answers, found by bench/fuzz.py).
    """

    def loads(self, s, **kwargs):
        """Parse JSON; nesting too deep for the parser is a ValueError (a 400), not a 500."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def init_app(app: Flask) -> None:
    """Bound the integer converter and check every request (call before the blueprints)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = BoundedJSONProvider(app)
    # After the rate limiter (a flood is refused before its body is read) but before the CSRF
    # check, which parses the form: the raw body must still be there to read strictly.
    hooks = app.before_request_funcs.setdefault(None, [])
    wtf = [i for i, f in enumerate(hooks) if getattr(f, "__module__", "").startswith("flask_wtf")]
    hooks.insert(wtf[0] if wtf else len(hooks), check_request)
