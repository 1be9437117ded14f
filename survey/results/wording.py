"""The words of the results in the reader's language: statuses, reasons, designs, columns.

`analysis` gives each row's publication reasons as codes with their numbers (analysis/status.py);
this is the one place they become text, for the pages, the downloads and the CLI alike. Call
within an app context; the language is Flask-Babel's current one (`force_locale` to choose).
"""

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis import status as st

STATUSES = {
    st.OK: _l("published"),
    st.CAUTION: _l("use with caution"),
    st.SUPPRESSED: _l("not published"),
}

# The designs in the words an evaluator reads on every page and file (agencies are strata in
# both; the Phương pháp sheet says so).
DESIGNS = {
    "srs": _l("each respondent is a unit"),
    "cluster": _l("counters are clusters"),
}

METHODS = {
    "korn-graubard": _l("Korn-Graubard"),
    "logit-t": _l("t interval on the logit scale"),
    "clopper-pearson": _l("Clopper-Pearson"),
}

LEVELS = {
    "service": _l("Service"),
    "element": _l("Element"),
    "criterion": _l("Criterion"),
}


def _one(number: float) -> str:
    return format_decimal(number, format="#,##0.0")


def _whole(number: float) -> str:
    return format_decimal(number, format="#,##0")


def reason_phrase(reason: dict) -> str:
    """Return one reason (a code with its numbers, from `analysis`) in the current language."""
    code = reason["code"]
    psu = reason.get("unit") == "PSU"
    if code == st.NO_RESPONSES:
        return _("no responses")
    if code == st.NO_VALID_CRITERION:
        return _("no valid answer to this criterion")
    if code == st.NO_VALID_COMPOSITE:
        return _("no valid answer to any of its criteria")
    if code == st.SINGLE_PSU:
        if psu:
            return _("a single counter (cluster): the variance cannot be estimated")
        return _("a single respondent: the variance cannot be estimated")
    if code == st.SINGLE_PSU_EVERYWHERE:
        if psu:
            return _("every agency has a single counter: the variance cannot be estimated")
        return _("every agency has a single respondent: the variance cannot be estimated")
    if code == st.NO_INTERVAL:
        return _("no confidence interval (0 degrees of freedom)")
    if code == st.FEW_RESPONDENTS:
        return _("n = %(n)s respondents, fewer than %(min)s", n=reason["n"], min=reason["min"])
    if code == st.SMALL_EFFECTIVE_SIZE:
        return _(
            "effective sample size %(n)s, below %(min)s",
            n=_one(reason["n_effective"]),
            min=reason["min"],
        )
    if code == st.INTERVAL_TOO_WIDE:
        return _(
            "confidence interval %(width)s points wide (%(limit)s or more)",
            width=_one(reason["width"]),
            limit=_whole(reason["limit"]),
        )
    if code == st.FEW_DF:
        return _(
            "%(df)s degrees of freedom, fewer than %(min)s",
            df=_whole(reason["df"]),
            min=reason["min"],
        )
    if code == st.INTERVAL_WIDE:
        return _(
            "confidence interval %(width)s points wide (more than %(limit)s)",
            width=_one(reason["width"]),
            limit=_whole(reason["limit"]),
        )
    if code == st.EDGE_INDEX:
        return _("an index of %(value)s", value=_whole(reason["estimate"]))
    if code == st.COMPONENTS_MISSING:
        return _("computed without %(keys)s (no valid answer)", keys=reason["keys"])
    if code == st.LONELY_PSUS:
        return _(
            "agencies with a single counter or respondent: %(count)s (their share of the "
            "variance is approximated)",
            count=reason["count"],
        )
    return str(reason.get("text", code))


def reason_text(reasons: list[dict] | None) -> str | None:
    """Return a row's reasons in the current language, joined by "; " (None when none)."""
    if not reasons:
        return None
    return "; ".join(reason_phrase(r) for r in reasons)


def row_reason_text(row: dict) -> str | None:
    """Return the reasons a row may show: a suppressed row's never give its value away."""
    reasons = row.get("reasons")
    if reasons and row.get("status") == st.SUPPRESSED:
        # "an index of 100" would give the number away.
        reasons = [r for r in reasons if r.get("code") != st.EDGE_INDEX]
    return reason_text(reasons) or row.get("reason") or None


def status_text(status: str) -> str:
    """Return a publication status (ok, caution, suppressed) in the current language."""
    return str(STATUSES.get(status, status))


def design_text(design: str) -> str:
    """Return a design (srs, cluster) in words in the current language."""
    return str(DESIGNS.get(design, design))


def method_text(method: str | None) -> str:
    """Return an interval method (korn-graubard, logit-t, clopper-pearson) in words."""
    return "" if method is None else str(METHODS.get(method, method))


def level_text(level: str) -> str:
    """Return a row level (service, element, criterion) in words."""
    return str(LEVELS.get(level, level))
