"""The staff console: agencies, counters, posters, receipt links, users and the audit log."""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
