"""Indices, SEs, intervals and statuses on data small enough to check by hand."""

import math

import numpy as np
import pytest

from analysis import (
    FIELDS,
    MEAN_FIELDS,
    Responses,
    Scheme,
    index_rows,
    mean_score_rows,
    poststratify,
)
from analysis.synthetic import clustered_responses

ONE_ITEM = Scheme(item_keys=("A1",), elements={"A": ("A1",)})


def responses(scores, agency=None, psu=None, weight=None, period=None, poststratum=None):
    """Build Responses from lists; defaults: one agency, one period, a PSU per respondent."""
    scores = np.asarray(scores, dtype=np.uint8)
    if scores.ndim == 1:
        scores = scores[:, None]
    n = len(scores)
    return Responses(
        scores=scores,
        agency=np.zeros(n, int) if agency is None else np.asarray(agency),
        psu=np.arange(n) if psu is None else np.asarray(psu),
        weight=np.ones(n) if weight is None else np.asarray(weight, float),
        period=np.zeros(n, int) if period is None else np.asarray(period),
        poststratum=None if poststratum is None else np.asarray(poststratum),
    )


def row(rows, key, agency=0, period=0):
    """Return the row of (period, agency, key)."""
    (found,) = [r for r in rows if (r["period"], r["agency"], r["key"]) == (period, agency, key)]
    return found


def test_criterion_index_se_and_deff_by_hand():
    # 5 valid answers, 2 satisfied: p = 0.4. z_i = (y_i - 0.4) / 5 for the answered;
    # sum z^2 = (2 * 0.36 + 3 * 0.16) / 25 = 0.048; the respondent with no answer still counts
    # as a PSU (R's domain convention): Var = 6/5 * 0.048 = 0.0576, SE = 0.24.
    rows = index_rows(responses([5, 4, 3, 2, 1, 0]), ONE_ITEM)
    a1 = row(rows, "A1")
    assert a1["estimate"] == pytest.approx(40.0)
    assert a1["se"] == pytest.approx(24.0)
    assert a1["n"] == 5 and a1["psus"] == 6 and a1["df"] == 5
    # deff = v / (p (1 - p) / (n - 1)) = 0.0576 / (0.24 / 4) = 0.96
    assert a1["deff"] == pytest.approx(0.96)
    assert a1["mean_score"] == pytest.approx(3.0)
    assert a1["method"] == "korn-graubard"
    assert a1["status"] == "suppressed" and "n = 5 respondents < 30" in a1["reason"]


def test_weights_enter_the_index_and_the_mean_score():
    rows = index_rows(responses([5, 1, 0], weight=[3.0, 1.0, 5.0]), ONE_ITEM)
    assert row(rows, "A1")["estimate"] == pytest.approx(75.0)
    assert row(rows, "A1")["mean_score"] == pytest.approx(4.0)


def test_all_satisfied_gives_clopper_pearson_and_caution():
    rows = index_rows(responses([5, 4] * 20), ONE_ITEM)
    for key in ("A1", "A", "service"):
        r = row(rows, key)
        assert r["estimate"] == 100.0 and r["se"] == 0.0
        assert r["method"] == "clopper-pearson"
        assert r["ci_high"] == 100.0
        assert r["ci_low"] == pytest.approx(100 * 0.025 ** (1 / 40))
        assert r["deff"] is None
        assert r["status"] == "caution" and "index of 100" in r["reason"]


def test_none_satisfied_gives_zero_with_an_upper_bound():
    rows = index_rows(responses([1, 2, 3] * 20), ONE_ITEM)
    r = row(rows, "A1")
    assert r["estimate"] == 0.0 and r["ci_low"] == 0.0
    assert r["ci_high"] == pytest.approx(100 * (1 - 0.025 ** (1 / 60)))
    assert r["status"] == "caution" and "index of 0" in r["reason"]


def test_one_respondent_has_no_variance_and_is_suppressed():
    rows = index_rows(responses([4]), ONE_ITEM)
    for r in rows:
        assert r["se"] is None and r["ci_low"] is None and r["deff"] is None
        assert r["status"] == "suppressed"
    assert "one respondent: variance cannot be estimated" in row(rows, "A1")["reason"]
    assert row(rows, "A1")["estimate"] == 100.0


def test_one_counter_under_the_cluster_design():
    data = responses([5, 4, 3, 2] * 10, psu=[7] * 40)
    rows = index_rows(data, ONE_ITEM, design="cluster")
    r = row(rows, "service")
    assert r["estimate"] == pytest.approx(50.0)
    assert r["se"] is None and r["ci_low"] is None and r["ci_high"] is None
    assert r["psus"] == 1 and r["df"] == 0
    assert r["status"] == "suppressed" and "one PSU: variance cannot be estimated" in r["reason"]
    # The same answers as 40 PSUs (srs) do have a variance.
    assert row(index_rows(data, ONE_ITEM), "service")["se"] > 0


def test_two_counters_cluster_variance_by_hand():
    # Counter 1: 3 of 4 satisfied, counter 2: 1 of 4. p = 0.5, W = 8.
    # PSU totals of z = sum (y - p) / 8: +0.125 and -0.125; Var = 2/1 * 2 * 0.125^2 = 0.0625.
    data = responses([5, 5, 5, 1, 5, 1, 1, 1], psu=[1, 1, 1, 1, 2, 2, 2, 2])
    r = row(index_rows(data, ONE_ITEM, design="cluster"), "A1")
    assert r["estimate"] == pytest.approx(50.0)
    assert r["se"] == pytest.approx(25.0)
    assert r["df"] == 1 and r["psus"] == 2


def test_element_nobody_answered():
    scheme = Scheme(item_keys=("A1", "A2", "E1"), elements={"A": ("A1", "A2"), "E": ("E1",)})
    scores = np.array([[5, 4, 0], [4, 2, 0], [1, 5, 0]] * 20)
    rows = index_rows(responses(scores), scheme)
    e = row(rows, "E")
    assert e["estimate"] is None and e["se"] is None and e["n"] == 0
    assert e["status"] == "suppressed" and "no valid answer" in e["reason"]
    assert row(rows, "E1")["status"] == "suppressed"
    service, a = row(rows, "service"), row(rows, "A")
    # The service index is the mean of the elements that exist: here element A alone.
    assert service["estimate"] == pytest.approx(a["estimate"])
    assert service["se"] == pytest.approx(a["se"])
    assert service["status"] == "caution"
    assert "computed without element E (no valid answer)" in service["reason"]
    assert service["rank_low"] is None  # an incomplete index is not ranked


def test_criterion_nobody_answered_in_one_agency():
    scheme = Scheme(item_keys=("B1", "B2", "B3"), elements={"B": ("B1", "B2", "B3")})
    rng = np.random.default_rng(1)
    scores = rng.integers(1, 6, (120, 3))
    agency = np.repeat([0, 1], 60)
    scores[agency == 1, 2] = 0
    rows = index_rows(responses(scores, agency=agency), scheme)
    b3 = row(rows, "B3", agency=1)
    assert b3["estimate"] is None and b3["n"] == 0 and b3["status"] == "suppressed"
    b = row(rows, "B", agency=1)
    expected = (row(rows, "B1", agency=1)["estimate"] + row(rows, "B2", agency=1)["estimate"]) / 2
    assert b["estimate"] == pytest.approx(expected)
    assert "computed without B3" in b["reason"]
    assert (
        row(rows, "B", agency=0)["reason"] is None or "B3" not in row(rows, "B", agency=0)["reason"]
    )
    assert row(rows, "B3", agency="*")["n"] == 60


def test_service_index_is_the_mean_of_element_means():
    scheme = Scheme(item_keys=("A1", "A2", "B1"), elements={"A": ("A1", "A2"), "B": ("B1",)})
    # A1: 1/2 satisfied, A2: 2/2, B1: 0/2  ->  A = 0.75, B = 0, service = 0.375.
    rows = index_rows(responses([[5, 5, 1], [1, 4, 2]]), scheme)
    assert row(rows, "A")["estimate"] == pytest.approx(75.0)
    assert row(rows, "service")["estimate"] == pytest.approx(37.5)
    # mean score of a composite: the same a_k over the criterion means (3, 4.5, 1.5).
    assert row(rows, "A")["mean_score"] == pytest.approx(3.75)
    assert row(rows, "service")["mean_score"] == pytest.approx((3.75 + 1.5) / 2)


def test_items_outside_elements_get_criterion_rows_only():
    scheme = Scheme.sipas()
    data = clustered_responses(3, agencies=2, psus_per_agency=3, respondents_per_psu=20)
    rows = index_rows(data, scheme)
    overall = row(rows, "OVERALL")
    assert overall["level"] == "criterion" and overall["estimate"] is not None
    data_without = Responses(
        scores=np.where(np.arange(17) == 16, 1, data.scores).astype(np.uint8),
        agency=data.agency,
        psu=data.psu,
        weight=data.weight,
        period=data.period,
    )
    assert row(index_rows(data_without, scheme), "service")["estimate"] == pytest.approx(
        row(rows, "service")["estimate"]
    )


def test_quick_form_rate_counts_everything_but_khong_hai_long():
    scores = np.array([[1, 2], [2, 3], [3, 1], [2, 2], [1, 0]])
    rows = index_rows(responses(scores), Scheme.quick())
    assert row(rows, "Q1")["estimate"] == pytest.approx(60.0)
    assert row(rows, "Q2")["estimate"] == pytest.approx(75.0)
    assert row(rows, "Q")["estimate"] == pytest.approx(67.5)
    assert row(rows, "Q1")["mean_score"] == pytest.approx(1.8)


def test_all_agencies_row_uses_agencies_as_strata():
    # Two agencies under srs: Var("*") is the sum of each stratum's centred contribution.
    data = responses([5, 1, 5, 5, 1, 1], agency=[0, 0, 0, 1, 1, 1])
    rows = index_rows(data, ONE_ITEM)
    star = row(rows, "A1", agency="*")
    assert star["estimate"] == pytest.approx(50.0)
    assert star["df"] == 6 - 2 and star["psus"] == 6 and star["n"] == 6
    # z_i = (y_i - 0.5) / 6; stratum 0: z = (.5, -.5, .5)/6, mean 1/36; stratum 1: (.5, -.5, -.5)/6.
    z = np.array([0.5, -0.5, 0.5, 0.5, -0.5, -0.5]) / 6
    var = sum(3 / 2 * ((z[s] - z[s].mean()) ** 2).sum() for s in (slice(0, 3), slice(3, 6)))
    assert star["se"] == pytest.approx(100 * math.sqrt(var))


def test_lonely_counter_in_the_all_agencies_row_is_flagged():
    data = responses([5, 1, 4, 2, 5, 5, 1], agency=[0, 0, 0, 0, 1, 1, 1], psu=[1, 1, 2, 2, 3, 3, 3])
    rows = index_rows(data, ONE_ITEM, design="cluster")
    assert row(rows, "A1", agency=1)["se"] is None
    star = row(rows, "A1", agency="*")
    assert star["se"] is not None and star["df"] == 3 - 2
    assert "1 agency with a single PSU" in star["reason"]


def test_rows_have_exactly_the_fields_and_never_nan():
    data = clustered_responses(
        4, agencies=4, psus_per_agency=np.array([1, 2, 5, 6]), respondents_per_psu=15, periods=3
    )
    rows = index_rows(
        data,
        Scheme.sipas(),
        design="cluster",
        agency_labels=["a", "b", "c", "d", "empty"],
        period_labels=["2024", "2025", "2026"],
    )
    assert len(rows) == 3 * 6 * 23
    for r in rows:
        assert tuple(r) == FIELDS
        for value in r.values():
            assert not (isinstance(value, float) and not math.isfinite(value))
        assert r["status"] in ("ok", "caution", "suppressed")
        assert (r["status"] == "ok") == (r["reason"] is None)
    empty = row(rows, "service", agency="empty", period="2025")
    assert (
        empty["n"] == 0
        and empty["status"] == "suppressed"
        and empty["reason"] == ("no responses; n = 0 respondents < 30")
    )


def test_unsorted_input_gives_the_same_rows():
    data = clustered_responses(
        8, agencies=3, psus_per_agency=4, respondents_per_psu=12, periods=2, unequal_weights=True
    )
    order = np.random.default_rng(0).permutation(data.n)
    shuffled = Responses(
        scores=data.scores[order],
        agency=data.agency[order],
        psu=data.psu[order],
        weight=data.weight[order],
        period=data.period[order],
    )
    for design in ("srs", "cluster"):
        a = index_rows(data, Scheme.sipas(), design=design)
        b = index_rows(shuffled, Scheme.sipas(), design=design)
        for x, y in zip(a, b, strict=True):
            for name in ("estimate", "se", "ci_low", "ci_high", "deff"):
                assert (x[name] is None and y[name] is None) or x[name] == pytest.approx(y[name])


def test_confidence_level_is_a_parameter():
    data = responses([5, 4, 3, 1] * 30)
    narrow = row(index_rows(data, ONE_ITEM, level=0.8), "A1")
    wide = row(index_rows(data, ONE_ITEM, level=0.99), "A1")
    assert wide["ci_low"] < narrow["ci_low"] < 50 < narrow["ci_high"] < wide["ci_high"]
    with pytest.raises(ValueError):
        index_rows(data, ONE_ITEM, level=95)


def test_poststratified_weights_meet_the_totals():
    data = responses(
        [5, 1, 4, 2], agency=[0, 0, 0, 1], weight=[1, 3, 2, 1], poststratum=[0, 0, 1, 0]
    )
    population = np.array([[8.0, 10.0], [5.0, 0.0]])
    weights = poststratify(data, population)
    assert weights.tolist() == pytest.approx([2.0, 6.0, 10.0, 5.0])
    with pytest.raises(ValueError, match="no positive population total"):
        poststratify(data, np.array([[8.0, 0.0], [5.0, 1.0]]))
    assert poststratify(data, {(0, 0): 8, (0, 1): 10, (1, 0): 5}).tolist() == pytest.approx(
        [2.0, 6.0, 10.0, 5.0]
    )


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="weights"):
        responses([4, 5], weight=[1.0, 0.0])
    with pytest.raises(ValueError, match="one entry per response"):
        Responses(np.ones((2, 1)), np.zeros(3, int), np.zeros(2, int), np.ones(2), np.zeros(2, int))
    with pytest.raises(ValueError, match="not an item key"):
        Scheme(item_keys=("A1",), elements={"A": ("A1", "A9")})
    with pytest.raises(ValueError, match="design"):
        index_rows(responses([4, 5]), ONE_ITEM, design="two-stage")
    with pytest.raises(ValueError, match="columns"):
        index_rows(responses([[4, 5], [5, 5]]), ONE_ITEM)


def test_mean_score_rows_by_hand():
    # Answers 5, 3, 1 and a missing one: mean 3; z = (s - 3) / 3 for the answered, 4 PSUs:
    # Var = 4/3 * (4 + 0 + 4) / 9 = 32/27.
    rows = mean_score_rows(responses([5, 3, 1, 0]), ONE_ITEM)
    a1 = row(rows, "A1")
    assert tuple(a1) == MEAN_FIELDS
    assert a1["mean_score"] == pytest.approx(3.0)
    assert a1["se"] == pytest.approx(math.sqrt(32 / 27))
    assert 1 < a1["ci_low"] < 3 < a1["ci_high"] < 5 and a1["method"] == "logit-t"
    # The interval is symmetric on the logit of (m - 1) / 4: here around logit(0.5) = 0.
    assert a1["ci_low"] - 1 == pytest.approx(5 - a1["ci_high"])


def test_mean_score_interval_stays_on_the_quick_form_scale():
    rows = mean_score_rows(responses([[3, 3], [3, 2], [3, 3]] * 10), Scheme.quick())
    q1 = row(rows, "Q1")
    assert q1["mean_score"] == 3.0 and q1["ci_high"] == pytest.approx(3.0)
    assert q1["method"] == "clopper-pearson" and 2 < q1["ci_low"] < 3
    q2 = row(rows, "Q2")
    assert 2 < q2["ci_low"] < q2["mean_score"] < q2["ci_high"] < 3
