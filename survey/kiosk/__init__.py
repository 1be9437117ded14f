"""The counter's own tablet: enrolled kiosks, the kiosk page `/k/` and the answers it sends."""


def init_app(app) -> None:
    """Register the kiosk's blueprint (its JSON sending is guarded by the device cookie)."""
    from survey.extensions import csrf
    from survey.kiosk.views import bp

    app.register_blueprint(bp)
    # The device cookie is SameSite=Strict and scoped to /k/: another site cannot send it, so
    # the JSON endpoint needs no form token (the device has no session to hold one).
    csrf.exempt(bp)
