"""General pages: the home page and the health check."""

from flask import Blueprint, render_template
from sqlalchemy import text

from survey import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Explain the platform and point staff to the console."""
    return render_template("pages/home.html")


@bp.get("/healthz")
def health():
    """Report that the app and its database answer."""
    db.session().execute(text("SELECT 1"))
    return {"status": "ok"}
