"""QR codes for survey URLs: PNG and SVG files, and the bare module matrix for vector drawing.

Parameters (see docs/posters.md):

* Error correction Q (about 25 % of the code words can be restored). Posters hang at
  counters for months: they get laminated (glare), scratched, creased and stuck over
  with tape. Q tolerates that, and survey URLs are short, so the extra modules it
  costs over M keep the modules large (a 60-character URL is version 5, 37 x 37).
* A quiet zone of 4 modules, the minimum the QR standard (ISO/IEC 18004) asks for.
* The URL is encoded exactly as given. It must be ASCII (percent-encode anything else
  first): non-ASCII bytes would need an ECI header that not every phone reader honours.
"""

from io import BytesIO

import qrcode
import qrcode.constants

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
QUIET_ZONE = 4  # modules of white on every side, the ISO/IEC 18004 minimum

Matrix = list[list[bool]]
Run = tuple[int, int, int]  # (row, first column, length) of a horizontal run of dark modules


def _build(url: str, box_size: int = 10) -> qrcode.QRCode:
    """Return a fitted QRCode object for `url` with this module's parameters."""
    if not url:
        raise ValueError("cannot encode an empty URL")
    if not url.isascii():
        raise ValueError("the URL must be ASCII; percent-encode it first")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=QUIET_ZONE)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_matrix(url: str) -> Matrix:
    """Return the QR symbol for `url` as rows of booleans (True = dark), WITHOUT the quiet zone.

    The matrix is square, 21 + 4 * (version - 1) modules a side. Whoever draws it must
    leave QUIET_ZONE modules of white around it.
    """
    with_border = _build(url).get_matrix()
    return [row[QUIET_ZONE:-QUIET_ZONE] for row in with_border[QUIET_ZONE:-QUIET_ZONE]]


def dark_runs(matrix: Matrix) -> list[Run]:
    """Return the horizontal runs of dark modules of `matrix` as (row, column, length)."""
    runs: list[Run] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append((y, start, x - start))
    return runs


def qr_png(url: str, box_size: int = 10) -> bytes:
    """Return a black-on-white PNG of the QR code for `url`, quiet zone included."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1 pixel per module")
    image = _build(url, box_size).make_image(fill_color="black", back_color="white")
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """Return a standalone SVG document of the QR code for `url`, quiet zone included.

    One unit of the viewBox is one module; the code is a single path on a white
    background, so it scales to any size without blur. The default size is 1 mm a module.
    """
    matrix = qr_matrix(url)
    side = len(matrix) + 2 * QUIET_ZONE
    # One "M x y h n v 1 h -n z" per run, merged along rows, keeps the file small.
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}z" for y, x, n in dark_runs(matrix)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{side}mm" '
        f'height="{side}mm" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/>'
        "</svg>\n"
    )
