"""The JSON API (v1) for case-management software and evaluators."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
