"""Security headers on every response: one place, so no page or download can be left out.

- Content-Security-Policy: scripts and styles only from our own static files (no inline code,
  no `style=` attribute), images from here or `data:` (the citizen form's empty favicon), no
  framing (`frame-ancestors 'none'`, and X-Frame-Options for older browsers), forms posted
  only here. The charts are inline `<svg>` markup drawn with presentation attributes, which
  the policy allows.
- Referrer-Policy `no-referrer`: a receipt link carries its signed token in the URL, and no
  link followed from that page may send it on.
- HSTS only when the public base URL is https (an http test or LAN install must stay usable).
- `Cache-Control: no-store` on everything but the static files: staff pages, results and their
  downloads, the API and sign-in must not stay in a shared cache or behind the back button,
  and the citizen's form carries a one-time nonce and a CSRF token, so a cached copy would be
  stale anyway. Static files keep Flask's normal caching (revalidated by ETag).
"""

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def set_security_headers(response: Response) -> Response:
    """Add the security headers (and no-store, except on static files) to `response`."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    if current_app.config["PUBLIC_BASE_URL"].startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        # An Expires set by send_file would only confuse old caches beside no-store.
        response.headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    """Register the hook that sets the security headers on every response."""
    app.after_request(set_security_headers)
