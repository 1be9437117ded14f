"""Helpers shared by the tests."""

import re


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs (csrf_token, nonce) of a rendered form."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


SIPAS_ITEMS = [
    "A1",
    "A2",
    "A3",
    "B1",
    "B2",
    "B3",
    "B4",
    "C1",
    "C2",
    "C3",
    "D1",
    "D2",
    "D3",
    "E1",
    "E2",
    "E3",
]


def full_answers(value: str = "4") -> dict[str, str]:
    """Return an answer for every required SIPAS item."""
    return {key: value for key in SIPAS_ITEMS}
