"""The JSON API (v1) for case-management software and evaluators.

Calls authenticate with `Authorization: Bearer <token>`, a token an admin made for an account
(`flask tokens create`, or /console/tokens). A token acts with its owner's role and agencies:

- `GET /indices`: an evaluator's or admin's token reads every agency, a manager's only their
  agencies (and the all-agencies row, as on the results pages);
- `POST /receipts`: an admin's token may issue links for every counter, a manager's for the
  counters of their agencies; another agency's counter is "unknown" (404), as in the console,
  where what lies outside a user's agencies is reported missing. Evaluators change nothing:
  their tokens get 403.

Errors are JSON objects with a stable `error` code for programs and a `message` for developers
(Vietnamese, or English with `Accept-Language: en` or `?lang=en`): survey/errors.py.
"""

import base64
import json
from functools import cache, wraps
from pathlib import Path

import yaml
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from survey import db
from survey.codes import CodeError, check_code
from survey.console.audit import record_issued_link, record_read
from survey.console.queries import active_counter_by_code
from survey.errors import api_error, api_locale
from survey.permissions import api_token_owner, is_admin, managed_agency_ids, visible_agency_ids
from survey.printing.qr import qr_png, qr_svg
from survey.receipt_links import (
    MAX_DOSSIER_LENGTH,
    LinkOrigin,
    dossier_problem,
    issue_link,
    response_for_dossier,
    store_issued_link,
)
from survey.results.filters import (
    CHANNELS,
    DESIGNS,
    LEVELS,
    PERIODS,
    WHOLE_RANGE,
    FilterError,
    agency_codes,
    parse_filters,
)
from survey.results.report import to_json
from survey.results.stored import report_file

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The OpenAPI 3.1 document of this API: one file, read once (tests/test_openapi.py checks it).
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
RECEIPT_BODY = '{"counter": "<counter code>", "dossier": "<dossier code>"}'


class BadBody(ValueError):
    """A request body the API cannot take; `args` are the status, code and message."""


def token_required(view):
    """Run `view` in the call's language for the owner of a valid token (g.api_user), else 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with force_locale(api_locale()):
            found = api_token_owner(request.headers.get("Authorization"))
            if found is None:
                return api_error(401)
            g.api_token, g.api_user = found
            # One audit entry per call, committed before the view's own transaction.
            record_read(
                db.session(),
                g.api_user,
                "api.call",
                f"token:{g.api_token.name}",
                after={"token": g.api_token.name, "endpoint": request.endpoint},
            )
            try:
                return view(*args, **kwargs)
            except BadBody as error:
                return api_error(*error.args)

    return wrapper


def _json_object() -> dict:
    """Return the body as a JSON object, or raise BadBody (beyond MAX_CONTENT_LENGTH: 413)."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        # RecursionError: nesting deep enough to exhaust the parser is no JSON we take either.
        raise BadBody(
            400, "bad-request", _l("The body is not valid JSON; send %(b)s.", b=RECEIPT_BODY)
        ) from error
    if not isinstance(data, dict):
        raise BadBody(400, "bad-request", _l("Send a JSON object: %(b)s.", b=RECEIPT_BODY))
    return data


def _text_field(data: dict, name: str) -> str:
    """Return the string `data[name]`, or raise BadBody (422) naming the field."""
    value = data.get(name)
    if not isinstance(value, str):
        raise BadBody(422, "invalid", _l('"counter" and "dossier" must both be strings.'))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON may carry a lone surrogate (\ud800), which no database or hash takes.
        raise BadBody(
            422, "invalid", _l('"%(field)s" is not valid Unicode text.', field=name)
        ) from error
    return value


@bp.post("/receipts")
@token_required
def receipt_create():
    """Return a signed receipt link and its QR code for `{"counter": ..., "dossier": ...}`.

    Only links issued with an administrator's token (the account a province gives its
    case-management software) make verified responses: a manager's token issues links for
    their agencies' counters too, but those count as issued by staff, since the people being
    rated could otherwise make links for dossiers that do not exist. Each link issued is in the
    audit log under the token's owner and name.
    """
    owner, token = g.api_user, g.api_token
    managed = managed_agency_ids(owner)
    if not managed:
        return api_error(
            403, "forbidden", _l("This token's account manages no counter: it cannot issue links.")
        )
    data = _json_object()
    counter_code, dossier = _text_field(data, "counter"), _text_field(data, "dossier")
    try:
        counter_code = check_code(counter_code)
    except CodeError as error:
        return api_error(422, "invalid-counter", str(error))
    if dossier_problem(dossier):
        return api_error(
            422,
            "invalid-dossier",
            _l("The dossier code must have 1 to %(n)d characters.", n=MAX_DOSSIER_LENGTH),
        )
    session = db.session()
    counter = active_counter_by_code(session, counter_code)
    if counter is None or counter.agency_id not in managed:
        # Another agency's counter is reported missing, so that a token learns nothing of it.
        return api_error(
            404,
            "unknown-counter",
            _l("No active counter of this token's agencies has code %(code)s.", code=counter_code),
        )
    origin = LinkOrigin.API if is_admin(owner) else LinkOrigin.STAFF
    issued = issue_link(counter, dossier, origin=origin)
    record_issued_link(session, owner, issued, token_name=token.name)
    store_issued_link(session, issued)
    session.commit()
    evaluated = response_for_dossier(session, issued.dossier_hash) is not None
    body = {
        "url": issued.url,
        "counter": counter.code,
        "expires_at": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "already_evaluated": evaluated,
        "verified": origin == LinkOrigin.API,
        "qr_svg": qr_svg(issued.url),
        "qr_png_base64": base64.b64encode(qr_png(issued.url, box_size=8)).decode(),
    }
    return jsonify(body), 201


@bp.get("/indices")
@token_required
def indices():
    """Return every index with its CI for the token's agencies, as `flask indices --format json`.

    Query arguments as on the results pages: questionnaire, period (month, quarter, year, all),
    design (srs, cluster), from, to (YYYY-MM-DD, Vietnam time) and confidence.
    """
    questionnaires = current_app.extensions["questionnaires"]
    try:
        filters = parse_filters(request.args, questionnaires)
        # An unknown parent agency is found out only while the rows are read.
        codes = set(agency_codes(db.results_session(), visible_agency_ids(g.api_user)))
        definition = questionnaires[filters.questionnaire]
        stored = report_file(definition, filters, "vi", codes, "json", to_json)
    except FilterError as error:
        return api_error(400, "bad-filter", str(error))
    return current_app.response_class(
        stored.value, mimetype="application/json", headers=stored.headers()
    )


@cache
def openapi_document() -> dict:
    """Return the API's OpenAPI 3.1 document (survey/api/openapi.yaml), read once."""
    document = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    # The filters' choices come from the code that checks them, so the two cannot drift apart.
    choices = {
        "period": [*PERIODS, WHOLE_RANGE],
        "design": list(DESIGNS),
        "level": list(LEVELS),
        "channel": list(CHANNELS),
    }
    for parameter in document["paths"]["/api/v1/indices"]["get"]["parameters"]:
        if parameter.get("name") in choices:
            schema = parameter["schema"]
            (schema.get("items") or schema)["enum"] = choices[parameter["name"]]
    document["components"]["schemas"]["Report"]["properties"]["design"]["enum"] = list(DESIGNS)
    return document


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 document of the API; no token needed, it holds no data."""
    return jsonify(openapi_document())
