"""The floor of bench/submit.py: Flask, SQLAlchemy and the same database, one insert.

For whole respondents (`--mode respondents`) it also serves a form page: the bytes of one page
the survey rendered (a file named by FLOOR_PAGE, read once) and the same session cookie
(FLOOR_COOKIE), so that the floor's GET answers as much as the survey's with nothing computed.
"""

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from survey.db import make_autocommit_engine, make_engine

metadata = MetaData()
floor = Table(
    "bench_floor", metadata, Column("id", Integer, primary_key=True), Column("payload", String(60))
)

app = Flask(__name__)
# Built in the gunicorn worker (the benchmark imports this module only for the table); in
# autocommit, as the submission path: one statement, no BEGIN / COMMIT round trips.
engine = (
    make_autocommit_engine(make_engine(os.environ["DATABASE_URL"]))
    if "DATABASE_URL" in os.environ
    else None
)
PAGE = Path(os.environ["FLOOR_PAGE"]).read_bytes() if os.environ.get("FLOOR_PAGE") else b""
COOKIE = os.environ.get("FLOOR_COOKIE", "")


@app.get("/floor")
def page():
    """Answer a kept page and cookie, the least a form GET can do."""
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if COOKIE:
        headers["Set-Cookie"] = f"{COOKIE}; HttpOnly; Path=/; SameSite=Lax"
    return PAGE, 200, headers


@app.post("/floor")
def insert_one():
    """Insert one row and answer, the least a submission endpoint can do."""
    with engine.connect() as conn:
        conn.execute(insert(floor).values(payload="4" * 17))
    return "", 204
