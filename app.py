"""Entry point: `flask --app app ...` and `gunicorn app:app` use the app built here."""

from survey import create_app

app = create_app()
