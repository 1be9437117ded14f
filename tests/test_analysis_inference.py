"""Status rules, intervals, changes, Holm's correction and rank intervals."""

import numpy as np
import pytest
from scipy import stats

import analysis.ranks as ranks
from analysis import (
    Responses,
    Scheme,
    classify,
    clopper_pearson,
    difference,
    holm,
    index_rows,
    korn_graubard,
    logit_t,
    pairwise_differences,
    rank_intervals,
    welch_df,
)
from analysis.synthetic import clustered_responses

GOOD = dict(n=400, estimate=80.0, se=2.0, ci_low=76.0, ci_high=84.0, df=30, n_effective=400.0)


def status(**changes):
    return classify(**{**GOOD, **changes})


def test_status_ok():
    assert status() == ("ok", None)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"n": 29}, "n = 29 respondents < 30"),
        ({"n_effective": 29.5}, "effective sample size 29.5 < 30"),
        ({"ci_low": 60.0, "ci_high": 90.0}, "CI 30.0 points wide (>= 30)"),
        ({"se": 2.0, "ci_low": None, "ci_high": None}, "no confidence interval"),
    ],
)
def test_status_suppressed(changes, reason):
    result, why = status(**changes)
    assert result == "suppressed" and reason in why


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"df": 7}, "df = 7 < 8"),
        ({"ci_low": 70.0, "ci_high": 90.5}, "CI 20.5 points wide (> 20)"),
        ({"estimate": 100.0, "se": 0.0, "ci_low": 92.0, "ci_high": 100.0}, "index of 100"),
        ({"estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 8.0}, "index of 0"),
    ],
)
def test_status_caution(changes, reason):
    result, why = status(**changes)
    assert result == "caution" and reason in why


def test_status_boundaries_and_combined_reasons():
    assert status(n=30)[0] == "ok"
    assert status(df=8)[0] == "ok"
    assert status(ci_low=70.0, ci_high=90.0)[0] == "ok"  # 20 points: not wider than 20
    result, why = status(n=12, df=3)
    assert result == "suppressed" and why == "n = 12 respondents < 30; df = 3 < 8"
    result, why = status(suppress=["one PSU: variance cannot be estimated"], se=None)
    assert result == "suppressed" and why.startswith("one PSU")


def test_clopper_pearson_matches_the_binomial_formula():
    low, high = clopper_pearson(np.array([0.0, 3.0, 10.0]), np.array([10.0, 10.0, 10.0]))
    assert low[0] == 0.0 and high[2] == 1.0
    assert low[1] == pytest.approx(stats.beta.ppf(0.025, 3, 8))
    assert high[1] == pytest.approx(stats.beta.ppf(0.975, 4, 7))
    assert high[0] == pytest.approx(1 - 0.025 ** (1 / 10))


def test_korn_graubard_reduces_to_clopper_pearson_for_a_simple_random_sample():
    # With v = p(1-p)/n and df = n - 1, n* = n: the interval is Clopper-Pearson's.
    p, n = 0.3, 50
    low, high, method = korn_graubard(p, p * (1 - p) / n, n, n - 1, n)
    cp_low, cp_high = clopper_pearson(15.0, 50.0)
    assert low == pytest.approx(cp_low) and high == pytest.approx(cp_high)
    assert method == "korn-graubard"
    # A design effect of 2 halves n*: a wider interval.
    low2, high2, _ = korn_graubard(p, 2 * p * (1 - p) / n, n, n - 1, n)
    assert low2 < low and high2 > high


def test_logit_t_stays_inside_zero_one_and_is_symmetric_on_the_logit_scale():
    low, high, method = logit_t(0.97, 0.03**2, 10, 40)
    assert 0 < low < 0.97 < high < 1 and method == "logit-t"
    logit = np.log(0.97 / 0.03)
    assert np.log(high / (1 - high)) - logit == pytest.approx(logit - np.log(low / (1 - low)))
    half = stats.t.ppf(0.975, 10) * 0.03 / (0.97 * 0.03)
    assert np.log(high / (1 - high)) == pytest.approx(logit + half)
    low, high, method = logit_t(1.0, 0.0, 10, 40)
    assert method == "clopper-pearson" and high == 1.0


def test_welch_df_and_difference_by_hand():
    assert welch_df(4.0, 1.0, 10, 5) == pytest.approx(25 / 1.8)
    diff, se, df, low, high, p_value, significant = difference(70.0, 2.0, 10, 76.0, 1.0, 5)
    assert diff == 6.0 and se == pytest.approx(np.sqrt(5.0)) and df == pytest.approx(25 / 1.8)
    half = stats.t.ppf(0.975, 25 / 1.8) * np.sqrt(5.0)
    assert low == pytest.approx(6 - half) and high == pytest.approx(6 + half)
    assert p_value == pytest.approx(2 * stats.t.sf(6 / np.sqrt(5.0), 25 / 1.8))
    assert significant == 1.0


def test_holm_by_hand():
    assert holm([0.01, 0.02, 0.03]) == pytest.approx([0.03, 0.04, 0.04])
    assert holm([0.5, 0.01]) == pytest.approx([0.5, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 x 0.8 capped at 1
    assert holm([]) == []


def two_periods(shift: float) -> Responses:
    """One agency, two periods of 400 respondents; period 1 is `shift` points happier."""
    rng = np.random.default_rng(5)
    period = np.repeat([0, 1], 400)
    satisfied = rng.random(800) < np.where(period == 0, 0.6, 0.6 + shift / 100)
    scores = np.where(satisfied, 5, 2)[:, None]
    return Responses(scores, np.zeros(800, int), np.arange(800), np.ones(800), period)


def test_change_since_previous_period():
    scheme = Scheme(item_keys=("A1",), elements={"A": ("A1",)})
    rows = {(r["period"], r["agency"], r["key"]): r for r in index_rows(two_periods(15), scheme)}
    before, after = rows[(0, 0, "A1")], rows[(1, 0, "A1")]
    assert before["change"] is None
    assert after["change"] == pytest.approx(after["estimate"] - before["estimate"])
    se = np.hypot(before["se"], after["se"])
    df = welch_df(before["se"] ** 2, after["se"] ** 2, before["df"], after["df"])
    half = stats.t.ppf(0.975, df) * se
    assert after["change_ci_low"] == pytest.approx(after["change"] - half)
    assert after["change_ci_high"] == pytest.approx(after["change"] + half)
    assert after["change_significant"] is True
    flat = {(r["period"], r["key"]): r for r in index_rows(two_periods(0), scheme)}
    assert flat[(1, "A1")]["change_significant"] is False


def test_change_is_not_computed_from_a_suppressed_number():
    scheme = Scheme(item_keys=("A1",), elements={"A": ("A1",)})
    data = two_periods(10)
    keep = np.r_[np.arange(20), np.arange(400, 800)]  # period 0 keeps 20 respondents
    small = Responses(
        data.scores[keep], data.agency[keep], data.psu[keep], data.weight[keep], data.period[keep]
    )
    rows = {(r["period"], r["key"]): r for r in index_rows(small, scheme)}
    assert rows[(0, "A1")]["status"] == "suppressed"
    assert rows[(1, "A1")]["change"] is None and rows[(1, "A1")]["change_significant"] is None


def test_pairwise_differences_use_holm():
    data = clustered_responses(
        2, agencies=4, psus_per_agency=5, respondents_per_psu=40, agency_sd=0.6
    )
    rows = index_rows(data, Scheme.sipas(), agency_labels=["a", "b", "c", "d"])
    pairs = pairwise_differences(rows, period=0, key="service")
    assert len(pairs) == 6
    assert [p["p_holm"] for p in pairs] == pytest.approx(holm([p["p_value"] for p in pairs]))
    by = {(r["agency"]): r for r in rows if r["key"] == "service" and r["period"] == 0}
    first = pairs[0]
    assert first["difference"] == pytest.approx(
        by[first["agency"]]["estimate"] - by[first["other"]]["estimate"]
    )
    assert all(p["significant"] == (p["p_holm"] < 0.05) for p in pairs)


def test_rank_intervals_of_separated_agencies_are_tight():
    low, high = rank_intervals([60.0, 90.0, 70.0, 80.0], [0.5, 0.5, 0.5, 0.5])
    assert low.tolist() == [4, 1, 3, 2] and high.tolist() == [4, 1, 3, 2]


def test_rank_intervals_of_identical_agencies_are_wide():
    low, high = rank_intervals([80.0] * 6, [2.0] * 6)
    assert low.tolist() == [1] * 6 and high.tolist() == [6] * 6


def test_rank_intervals_mixed_and_seeded():
    x = [90.0, 89.5, 70.0, 50.0, 49.0]
    se = [1.0, 1.0, 1.0, 1.0, 1.0]
    low, high = rank_intervals(x, se, seed=1)
    assert low.tolist() == [1, 1, 3, 4, 4] and high.tolist() == [2, 2, 3, 5, 5]
    again = rank_intervals(x, se, seed=1)
    assert np.array_equal(again[0], low) and np.array_equal(again[1], high)


def test_rank_intervals_widen_with_the_confidence_level():
    rng = np.random.default_rng(3)
    x, se = rng.normal(80, 4, 40), rng.uniform(1, 2, 40)
    low90, high90 = rank_intervals(x, se, level=0.9)
    low99, high99 = rank_intervals(x, se, level=0.99)
    assert np.all(low99 <= low90) and np.all(high99 >= high90)
    assert np.all(low90 <= high90) and low90.min() == 1 and high90.max() == 40


@pytest.mark.parametrize("chunk", [1 << 23, 20_000])
def test_pruned_maximum_equals_the_full_maximum(monkeypatch, chunk):
    # A small chunk forces the pruned path even for sparse pairs and recomputes candidates.
    monkeypatch.setattr(ranks, "CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(4)
    p, draws = 300, 200
    s = rng.uniform(0.2, 3, p)
    s[:3] = 0.0  # exact estimates take part too
    u = rng.standard_normal((draws, p))
    z = u * s
    sd = np.sqrt(s[:, None] ** 2 + s[None, :] ** 2)
    inv_sd = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)
    for density in (1.0, 0.5, 0.05):
        allowed = (rng.random((p, p)) < density) & ~np.eye(p, dtype=bool)
        full = ranks._direct_max(z, inv_sd, allowed)
        pruned = ranks._PairMaxima(z, u, s > 0, inv_sd)(allowed)
        assert np.array_equal(full, pruned)


def test_suppressed_agencies_get_no_rank():
    data = clustered_responses(
        6, agencies=4, psus_per_agency=np.array([5, 5, 5, 1]), respondents_per_psu=40
    )
    # Agency c loses every response, agency d keeps 20 of its one counter's 40.
    keep = (data.agency != 2) & ~((data.agency == 3) & (np.arange(data.n) % 2 == 0))
    rows = index_rows(
        Responses(
            data.scores[keep],
            data.agency[keep],
            data.psu[keep],
            data.weight[keep],
            data.period[keep],
        ),
        Scheme.sipas(),
        agency_labels=["a", "b", "c", "d"],
    )
    service = {r["agency"]: r for r in rows if r["key"] == "service"}
    assert service["d"]["status"] == "suppressed" and service["d"]["rank_low"] is None
    assert service["c"]["rank_low"] is None  # no responses
    assert service["*"]["rank_low"] is None
    for name in ("a", "b"):
        assert 1 <= service[name]["rank_low"] <= service[name]["rank_high"] <= 2
    assert all(r["rank_low"] is None for r in rows if r["key"] != "service")
