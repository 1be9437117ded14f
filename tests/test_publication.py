"""Publication rules: the zero-variance fallback, reason codes and their words, the CLI option."""

import json

import numpy as np
import pytest
from flask_babel import force_locale
from scipy import stats

from analysis import Responses, Scheme, index_rows
from survey.results.wording import reason_text, status_text
from tests.test_downloads import downloads_world


def quick_responses(first: int) -> Responses:
    """Two quick-form counters at exactly 75% each: `first` and 56 - `first` answers."""
    second = 56 - first
    q = [3] * (first * 3 // 4) + [1] * (first // 4) + [2] * (second * 3 // 4) + [1] * (second // 4)
    n = len(q)
    return Responses(
        scores=np.array([q, q], dtype=np.uint8).T,
        agency=np.zeros(n, int),
        psu=np.array([1] * first + [2] * second),
        weight=np.ones(n),
        period=np.zeros(n, int),
        poststratum=None,
    )


@pytest.mark.parametrize("first", [4, 8, 28])
def test_identical_counter_shares_get_clopper_pearson_not_a_zero_width_interval(first):
    # The variance is 0; rounding made it 1e-34 when the counters differ in size, and then
    # Korn-Graubard gave "75.00 (75.00-75.00)" as R does. METHOD.md: Clopper-Pearson on the 56
    # valid answers, 42 satisfied.
    rows = index_rows(quick_responses(first), Scheme.quick(), design="cluster")
    low = 100 * stats.beta.ppf(0.025, 42, 56 - 42 + 1)
    high = 100 * stats.beta.ppf(0.975, 42 + 1, 56 - 42)
    for key in ("Q1", "Q", "service"):
        (r,) = [r for r in rows if r["agency"] == 0 and r["key"] == key]
        assert r["estimate"] == pytest.approx(75.0) and r["se"] == 0.0
        assert r["method"] == "clopper-pearson"
        assert r["ci_low"] == pytest.approx(low) and r["ci_high"] == pytest.approx(high)
        assert r["status"] == "caution"
        assert [x["code"] for x in r["reasons"]] == ["few-df", "interval-wide"]


def test_reasons_are_codes_with_numbers_worded_in_both_languages(app):
    rows = index_rows(quick_responses(28), Scheme.quick())
    small = index_rows(
        Responses(
            scores=np.array([[3, 3], [1, 2], [2, 2], [3, 1], [2, 3], [1, 1], [3, 3]], np.uint8),
            agency=np.zeros(7, int),
            psu=np.arange(7),
            weight=np.ones(7),
            period=np.zeros(7, int),
        ),
        Scheme.quick(),
    )
    (service,) = [r for r in small if r["agency"] == 0 and r["key"] == "service"]
    assert service["status"] == "suppressed"
    codes = {r["code"]: r for r in service["reasons"]}
    assert codes["few-respondents"] == {"code": "few-respondents", "n": 7, "min": 30}
    assert "n = 7 respondents < 30" in service["reason"]  # English, for analysts
    with app.test_request_context():
        with force_locale("vi"):
            vi = reason_text(service["reasons"])
            assert "n = 7 người trả lời, ít hơn 30" in vi and "khoảng tin cậy rộng" in vi
            assert status_text("suppressed") == "không công bố"
        with force_locale("en"):
            en = reason_text(service["reasons"])
            assert "n = 7 respondents, fewer than 30" in en
            assert status_text("caution") == "use with caution"
    assert all(r["reasons"] == [] for r in rows if r["status"] == "ok")


def test_cli_gives_suppressed_numbers_only_with_the_unpublished_option(app, runner, world):
    expected = downloads_world(app, world)
    plain = json.loads(runner.invoke(args=["indices", "--format", "json"]).output)
    rows = {(r["agency"], r["key"]): r for r in plain["rows"]}
    small = rows[("OTHER", "service")]
    assert small["status"] == "suppressed" and small["n"] == 6
    assert small["estimate"] is None and small["ci_low"] is None and small["se"] is None
    assert "unpublished" not in small
    assert "n = 6 người trả lời" in small["reason"]  # the CLI speaks Vietnamese
    result = runner.invoke(args=["indices", "--format", "json", "--include-unpublished"])
    assert result.exit_code == 0, result.output
    raw = {(r["agency"], r["key"]): r for r in json.loads(result.output)["rows"]}
    assert raw[("OTHER", "service")]["unpublished"] is True
    want = {code: expected[code]["service"]["estimate"] for code in ("OTHER", "OWN")}
    assert raw[("OTHER", "service")]["estimate"] == pytest.approx(want["OTHER"])
    assert raw[("OWN", "service")]["unpublished"] is False
    assert raw[("OWN", "service")]["estimate"] == pytest.approx(want["OWN"])
    csv_text = runner.invoke(args=["indices", "--include-unpublished"]).output
    assert csv_text.splitlines()[0].endswith(",unpublished")


def test_a_suppressed_rows_reasons_do_not_give_its_value_away(app, runner, world):
    downloads_world(app, world)
    rows = json.loads(runner.invoke(args=["indices", "--format", "json"]).output)["rows"]
    # OTHER's six respondents: some criteria everyone (or no one) was satisfied with.
    edge = [r for r in rows if r["agency"] == "OTHER" and r["status"] == "suppressed"]
    assert edge and all("edge-index" not in (r["reason_codes"] or "") for r in edge)
    assert all("chỉ số bằng" not in (r["reason"] or "") for r in edge)
    assert all(r["code"] != "edge-index" for r in edge for r in r["reasons"])
    full = json.loads(
        runner.invoke(args=["indices", "--format", "json", "--include-unpublished"]).output
    )["rows"]
    assert any("edge-index" in (r["reason_codes"] or "") for r in full if r["agency"] == "OTHER")
