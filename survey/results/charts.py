"""Charts drawn on the server as inline SVG: no JavaScript, no outside requests, tiny pages."""

from markupsafe import Markup, escape


def forest_plot(items: list[dict], width: int = 640, row_height: int = 26) -> Markup:
    """Return an SVG of estimates with their confidence intervals, one row per item.

    Each item has `label`, `estimate`, `ci_low`, `ci_high` (0-100, any may be None) and
    `muted` (drawn grey: suppressed or caution).
    """
    label_width, right = 230, 16
    plot = width - label_width - right
    height = row_height * len(items) + 34

    def x(value: float) -> float:
        return label_width + plot * value / 100

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" font-family="system-ui,sans-serif" font-size="12">'
    ]
    for tick in range(0, 101, 20):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="4" y2="{height - 22}" '
            f'stroke="#dde2e7"/><text x="{x(tick):.1f}" y="{height - 8}" '
            f'text-anchor="middle" fill="#444">{tick}</text>'
        )
    for i, item in enumerate(items):
        y = 4 + row_height * i + row_height / 2
        label = escape(item["label"])
        if len(item["label"]) > 34:
            label = escape(item["label"][:33] + "…")
        parts.append(f'<text x="4" y="{y + 4:.1f}" fill="#1a1a1a">{label}</text>')
        colour = "#8a96a3" if item.get("muted") else "#0b4f9c"
        if item.get("ci_low") is not None and item.get("ci_high") is not None:
            parts.append(
                f'<line x1="{x(item["ci_low"]):.1f}" x2="{x(item["ci_high"]):.1f}" '
                f'y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="3"/>'
            )
        if item.get("estimate") is not None:
            parts.append(
                f'<circle cx="{x(item["estimate"]):.1f}" cy="{y:.1f}" r="5" fill="{colour}"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(points: list[dict], width: int = 640, height: int = 220) -> Markup:
    """Return an SVG line of estimates over periods with a confidence band.

    Each point has `label`, `estimate`, `ci_low`, `ci_high` (0-100 or None).
    """
    left, right, top, bottom = 36, 12, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(points) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + step * i, top + plot_h * (1 - value / 100)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" font-family="system-ui,sans-serif" font-size="11">'
    ]
    for tick in range(0, 101, 25):
        _, y = xy(0, tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dde2e7"/><text x="{left - 4}" y="{y + 4:.1f}" '
            f'text-anchor="end" fill="#444">{tick}</text>'
        )
    band = [
        (i, p)
        for i, p in enumerate(points)
        if p.get("ci_low") is not None and p.get("ci_high") is not None
    ]
    if band:
        upper = [xy(i, p["ci_high"]) for i, p in band]
        lower = [xy(i, p["ci_low"]) for i, p in reversed(band)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in upper + lower)
        parts.append(f'<polygon points="{path}" fill="#0b4f9c" fill-opacity="0.15"/>')
    line = [xy(i, p["estimate"]) for i, p in enumerate(points) if p.get("estimate") is not None]
    if len(line) > 1:
        parts.append(
            '<polyline fill="none" stroke="#0b4f9c" stroke-width="2" points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in line)
            + '"/>'
        )
    for px, py in line:
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="#0b4f9c"/>')
    every = max(1, -(-len(points) // 6))  # at most six labels, so they never overlap
    for i, p in enumerate(points):
        if i % every == 0:
            px, _ = xy(i, 0)
            parts.append(
                f'<text x="{px:.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="#444">{escape(p["label"])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
