"""The evaluators' pages: indices with confidence intervals, rankings, trends and downloads."""

from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/results")
