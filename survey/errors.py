"""Error pages in the visitor's language."""

from flask import Flask, render_template


def init_app(app: Flask) -> None:
    """Register the error pages."""

    @app.errorhandler(404)
    def not_found(error):
        """Say the address or survey code is not valid."""
        kind = getattr(error, "description", "") if error else ""
        return render_template("errors/404.html", survey_code=kind == "survey-code"), 404

    @app.errorhandler(410)
    def replaced(_error):
        """Say the poster was replaced and a new one must be scanned."""
        return render_template("errors/replaced.html"), 410

    @app.errorhandler(400)
    def bad_request(error):
        """Say the request could not be understood (e.g. a form sent without its CSRF token)."""
        return render_template("errors/400.html", reason=error.description), 400

    @app.errorhandler(500)
    def server_error(_error):
        """Apologise without showing internals."""
        return render_template("errors/500.html"), 500

    @app.errorhandler(429)
    def too_many(_error):
        """Ask the visitor to wait before trying again."""
        return render_template("errors/429.html"), 429
