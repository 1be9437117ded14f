"""The floor of bench/submit.py: Flask, SQLAlchemy and the same database, one insert."""

import os

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


@app.post("/floor")
def insert_one():
    """Insert one row and answer, the least a submission endpoint can do."""
    with engine.connect() as conn:
        conn.execute(insert(floor).values(payload="4" * 17))
    return "", 204
