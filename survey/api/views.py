"""The JSON API (v1) for case-management software and evaluators.

Calls authenticate with `Authorization: Bearer <token>`, a token from `API_TOKENS`. Errors are
JSON objects with a stable `error` code for programs and an English `message` for developers.
"""

import base64

from flask import Blueprint, current_app, jsonify, request
from flask_babel import force_locale

from survey import db
from survey.codes import CodeError, check_code
from survey.console.audit import record_issued_link
from survey.console.queries import active_counter_by_code
from survey.permissions import api_token_valid
from survey.printing.qr import qr_png, qr_svg
from survey.receipt_links import (
    LinkOrigin,
    dossier_problem,
    issue_link,
    response_for_dossier,
    store_issued_link,
)
from survey.results.filters import FilterError, parse_filters
from survey.results.report import build_report, to_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, code: str, message: str):
    response = jsonify(error=code, message=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="survey"'
    return response


@bp.post("/receipts")
def receipt_create():
    """Return a signed receipt link and its QR code for `{"counter": ..., "dossier": ...}`.

    Only these links make verified responses; each one issued is in the audit log.
    """
    if not api_token_valid(request.headers.get("Authorization")):
        return _error(401, "unauthorized", "send Authorization: Bearer <one of API_TOKENS>")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(
            400,
            "bad-request",
            'send a JSON object: {"counter": "<counter code>", "dossier": "<code>"}',
        )
    counter_code, dossier = data.get("counter"), data.get("dossier")
    if not isinstance(counter_code, str) or not isinstance(dossier, str):
        return _error(422, "invalid", '"counter" and "dossier" must both be strings')
    with force_locale("en"):
        try:
            counter_code = check_code(counter_code)
        except CodeError as error:
            return _error(422, "invalid-counter", str(error))
    problem = dossier_problem(dossier)
    if problem:
        return _error(422, "invalid-dossier", problem)
    counter = active_counter_by_code(db.session(), counter_code)
    if counter is None:
        return _error(404, "unknown-counter", f"no active counter has code {counter_code!r}")
    issued = issue_link(counter, dossier, origin=LinkOrigin.API)
    session = db.session()
    # The tokens have no owner yet: the entry says the API issued it, with no one named.
    record_issued_link(session, None, issued)
    store_issued_link(session, issued)
    session.commit()
    evaluated = response_for_dossier(session, issued.dossier_hash) is not None
    body = {
        "url": issued.url,
        "counter": counter.code,
        "expires_at": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "already_evaluated": evaluated,
        "qr_svg": qr_svg(issued.url),
        "qr_png_base64": base64.b64encode(qr_png(issued.url, box_size=8)).decode(),
    }
    return jsonify(body), 201


@bp.get("/indices")
def indices():
    """Return every index with its CI for all agencies, as `flask indices --format json` does.

    Query arguments as on the results pages: questionnaire, period (month, quarter, year, all),
    design (srs, cluster), from, to (YYYY-MM-DD, Vietnam time) and confidence.
    """
    if not api_token_valid(request.headers.get("Authorization")):
        return _error(401, "unauthorized", "send Authorization: Bearer <one of API_TOKENS>")
    questionnaires = current_app.extensions["questionnaires"]
    with force_locale("en"):
        try:
            filters = parse_filters(request.args, questionnaires)
        except FilterError as error:
            return _error(400, "bad-filter", str(error))
    report = build_report(db.engine(), questionnaires[filters.questionnaire], filters)
    return current_app.response_class(to_json(report), mimetype="application/json")
