"""Gunicorn settings of `make run` and of production: `gunicorn -c gunicorn.conf.py app:app`.

The access log must not let anyone re-link a response to a person: a receipt link's signed URL
(`/r/<signed>`) leads to its response's dossier hash, and beside a client address and a user
agent that is a verified response tied to a machine. So each access line has the time, method,
path (a survey or receipt link cut to its prefix), status, size and duration, and nothing else,
whatever `access_log_format` says: the logger class below hands gunicorn no other value.

Environment: GUNICORN_BIND (default 127.0.0.1:$PORT, PORT default 5000), GUNICORN_WORKERS
(default 2), GUNICORN_THREADS (default 4 per worker), GUNICORN_ACCESS_LOG (default "-", standard
output; "off" for none).
"""

import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT') or '5000'}"
workers = int(os.environ.get("GUNICORN_WORKERS") or 2)
# Threads per worker (gunicorn's gthread worker): a citizen's form is answered beside an
# evaluator's download instead of waiting behind it (bench/results.py), and a slow database
# call holds one thread, not the whole worker.
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# A worker busy longer than this is restarted; nginx in front buffers request bodies, so slow
# clients never hold a worker (docs/deploy.md).
timeout = 30
graceful_timeout = 20
errorlog = "-"
_access = os.environ.get("GUNICORN_ACCESS_LOG", "-")
accesslog = None if _access.lower() in ("", "off", "none") else _access
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

# Paths that carry a token: everything after the prefix is cut.
SECRET_PREFIXES = ("/r/", "/s/")


def private_path(path: str | None) -> str:
    """Return `path` with a receipt or survey link cut to its prefix (`/r/…`, `/s/…`)."""
    path = path or "-"
    for prefix in SECRET_PREFIXES:
        if path.startswith(prefix):
            return prefix + "…"
    return path


class PrivateLogger(Logger):
    """Gunicorn's logger, whose access lines carry no address, user agent, referrer or link."""

    # The only values a format can use; any other atom (%(h)s, %(a)s, %(f)s, %(q)s, a header
    # or the environment) comes out as "-".
    def atoms(self, resp, req, environ, request_time):
        """Return the access-log values that cannot identify a client or a link."""
        every = super().atoms(resp, req, environ, request_time)
        kept = {key: every[key] for key in ("t", "m", "s", "b", "B", "T", "D", "M", "L", "p")}
        path = private_path(environ.get("PATH_INFO"))
        kept |= {"U": path, "r": f"{every['m']} {path} {every['H']}", "H": every["H"]}
        return kept


logger_class = PrivateLogger
