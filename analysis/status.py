"""Whether a number is fit to publish: the NCHS standards for proportions (Parker et al. 2017).

suppressed: n < 30 respondents, or effective size n* < 30, or a CI 30 points wide or more (and
            anything without an estimate, a variance or an interval);
caution:    df < 8, or a CI wider than 20 points, or an index of 0 or 100 (and composites that
            lost a component, "*" rows whose variance includes an agency with a single PSU);
ok:         the rest.

Each rule that hits is a reason: a code with its numbers ({"code": "few-respondents", "n": 7,
"min": 30}), so that the web and CLI layers can word it in the reader's language
(survey/results/wording.py); `describe` gives the English wording analysts see here.
"""

from __future__ import annotations

import math

OK = "ok"
CAUTION = "caution"
SUPPRESSED = "suppressed"

MIN_N = 30
MIN_EFFECTIVE_N = 30
MAX_WIDTH = 30.0  # CI width in points at or above which the number is suppressed
CAUTION_WIDTH = 20.0  # CI width in points above which the number needs caution
MIN_DF = 8

# Reason codes. Suppressing ones first, then those that ask for caution.
NO_RESPONSES = "no-responses"
NO_VALID_CRITERION = "no-valid-answer"  # a criterion nobody answered
NO_VALID_COMPOSITE = "no-valid-answers"  # an element or the service: none of its criteria
SINGLE_PSU = "single-psu"  # {unit}: "respondent" or "PSU"
SINGLE_PSU_EVERYWHERE = "single-psu-everywhere"  # {unit}: the "*" row
NO_INTERVAL = "no-interval"  # an SE but df = 0
FEW_RESPONDENTS = "few-respondents"  # {n, min}
SMALL_EFFECTIVE_SIZE = "small-effective-size"  # {n_effective, min}
INTERVAL_TOO_WIDE = "interval-too-wide"  # {width, limit}
FEW_DF = "few-df"  # {df, min}
INTERVAL_WIDE = "interval-wide"  # {width, limit}
EDGE_INDEX = "edge-index"  # {estimate}: 0 or 100
COMPONENTS_MISSING = "components-missing"  # {keys}: "B3, E"
LONELY_PSUS = "lonely-psus"  # {count, unit}: "*" row
OTHER = "other"  # {text}: a reason given as plain English text by a caller

ENGLISH = {
    NO_RESPONSES: "no responses",
    NO_VALID_CRITERION: "no valid answer to this criterion",
    NO_VALID_COMPOSITE: "no valid answer to any of its criteria",
    SINGLE_PSU: "one {unit}: variance cannot be estimated",
    SINGLE_PSU_EVERYWHERE: "every agency has a single {unit}: variance cannot be estimated",
    NO_INTERVAL: "no confidence interval (df = 0)",
    FEW_RESPONDENTS: "n = {n} respondents < {min}",
    SMALL_EFFECTIVE_SIZE: "effective sample size {n_effective:.1f} < {min}",
    INTERVAL_TOO_WIDE: "CI {width:.1f} points wide (>= {limit:.0f})",
    FEW_DF: "df = {df:g} < {min}",
    INTERVAL_WIDE: "CI {width:.1f} points wide (> {limit:.0f})",
    EDGE_INDEX: "index of {estimate:g}",
    COMPONENTS_MISSING: "computed without {keys} (no valid answer)",
    LONELY_PSUS: "{count} {agencies} with a single {unit}: variance contribution approximated "
    "(R survey.lonely.psu = 'adjust')",
    OTHER: "{text}",
}


def reason(code: str, **values) -> dict:
    """Return one reason: its code and the numbers its wording needs."""
    return {"code": code, **values}


def describe(reasons: list[dict] | None) -> str | None:
    """Return the reasons in English, joined by "; " (None when there is none)."""
    if not reasons:
        return None
    parts = []
    for r in reasons:
        values = dict(r)
        if r["code"] == LONELY_PSUS:
            values["agencies"] = "agency" if r["count"] == 1 else "agencies"
        parts.append(ENGLISH[r["code"]].format(**values))
    return "; ".join(parts)


def _as_reason(item: str | dict) -> dict:
    return item if isinstance(item, dict) else reason(OTHER, text=item)


def assess(
    *,
    n: int,
    estimate: float | None,
    se: float | None,
    ci_low: float | None,
    ci_high: float | None,
    df: float | None,
    n_effective: float | None,
    suppress: list | None = None,
    caution: list | None = None,
) -> tuple[str, list[dict]]:
    """Return (status, reasons) for one index in percent; the reasons list every rule that hit.

    `suppress` and `caution` carry reasons found elsewhere (e.g. a single PSU, a composite
    without B3); they are reported first.
    """
    hard = [_as_reason(r) for r in suppress or []]
    soft = [_as_reason(r) for r in caution or []]
    if estimate is not None and se is not None and (ci_low is None or ci_high is None):
        hard.append(reason(NO_INTERVAL))
    if n < MIN_N:
        hard.append(reason(FEW_RESPONDENTS, n=n, min=MIN_N))
    if n_effective is not None and n_effective < MIN_EFFECTIVE_N and n >= MIN_N:
        hard.append(reason(SMALL_EFFECTIVE_SIZE, n_effective=n_effective, min=MIN_EFFECTIVE_N))
    width = None if ci_low is None or ci_high is None else ci_high - ci_low
    if width is not None and width >= MAX_WIDTH:
        hard.append(reason(INTERVAL_TOO_WIDE, width=width, limit=MAX_WIDTH))
    if df is not None and df < MIN_DF and se is not None:
        soft.append(reason(FEW_DF, df=df, min=MIN_DF))
    if width is not None and CAUTION_WIDTH < width < MAX_WIDTH:
        soft.append(reason(INTERVAL_WIDE, width=width, limit=CAUTION_WIDTH))
    if estimate is not None and (estimate == 0 or estimate == 100):
        soft.append(reason(EDGE_INDEX, estimate=estimate))
    if hard:
        return SUPPRESSED, hard + soft
    if soft:
        return CAUTION, soft
    return OK, []


def classify(**arguments) -> tuple[str, str | None]:
    """Return (status, reason in English) for one index; the arguments are `assess`'s."""
    status, reasons = assess(**arguments)
    return status, describe(reasons)


def finite_or_none(x: float) -> float | None:
    """Return x as a float, or None when it is NaN or infinite (rows never carry NaN)."""
    return float(x) if math.isfinite(x) else None
