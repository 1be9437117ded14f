"""Every estimate, SE, CI bound, df, design effect and mean score agrees with R's survey package.

Data are simulated here (counter effects, unequal weights, 8% missing answers, five agencies,
two periods, with edge cases: an element nobody answered, a criterion nobody answered, a
criterion everyone was satisfied with, an agency with a single counter), written to CSV, and
tests/r/reference.R computes the same numbers with svydesign / svyciprop(method = "beta") /
svytotal + svycontrast / confint(df = degf) / svymean(deff = "replace") / postStratify.
"""

import csv
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis import Responses, Scheme, index_rows, mean_score_rows, poststratify
from analysis.synthetic import clustered_responses
from tests.needs import need, need_program

REFERENCE = Path(__file__).parent / "r" / "reference.R"
TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def rscript() -> str:
    """Return the Rscript path, skipping (failing in CI) without R or its survey package."""
    path = need_program("Rscript", "r-base-core")
    probe = subprocess.run(
        [path, "-e", "library(survey)"], capture_output=True, text=True, check=False
    )
    need(probe.returncode == 0, "R package survey is not installed (Debian r-cran-survey)")
    return path


def sipas_data(seed: int = 7, cells: int = 0) -> Responses:
    """Return SIPAS answers with the edge cases described in the module docstring."""
    data = clustered_responses(
        seed,
        agencies=5,
        psus_per_agency=np.array([6, 5, 4, 5, 1]),
        respondents_per_psu=np.random.default_rng(seed).integers(12, 30, 21),
        periods=2,
        unequal_weights=True,
        cells=cells,
    )
    scores = data.scores.copy()
    scheme = Scheme.sipas()
    col = {k: i for i, k in enumerate(scheme.item_keys)}
    a = data.agency
    scores[np.ix_(a == 2, [col["E1"], col["E2"], col["E3"]])] = 0  # element E: nobody
    scores[a == 3, col["B3"]] = 0  # criterion B3: nobody
    a1 = scores[:, col["A1"]]
    a1[(a == 3) & (a1 > 0)] = 5  # everyone satisfied with A1
    scores[:, col["A1"]] = a1
    return Responses(
        scores=scores,
        agency=a,
        psu=data.psu,
        weight=data.weight,
        period=data.period,
        poststratum=data.poststratum,
    )


def write_inputs(tmp: Path, data: Responses, scheme: Scheme) -> tuple[Path, Path]:
    """Write the data and the scheme as the CSV files reference.R reads."""
    data_csv, scheme_csv = tmp / "data.csv", tmp / "scheme.csv"
    with data_csv.open("w", newline="") as f:
        out = csv.writer(f)
        extra = ["cell"] if data.poststratum is not None else []
        out.writerow(["row", "period", "agency", "psu", "w", *extra, *scheme.item_keys])
        for i in range(data.n):
            cell = [int(data.poststratum[i])] if data.poststratum is not None else []
            answers = ["NA" if v == 0 else int(v) for v in data.scores[i]]
            out.writerow(
                [
                    i,
                    int(data.period[i]),
                    int(data.agency[i]),
                    int(data.psu[i]),
                    repr(float(data.weight[i])),
                    *cell,
                    *answers,
                ]
            )
    element_of = {k: e for e, keys in scheme.elements.items() for k in keys}
    with scheme_csv.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["item", "element"])
        for k in scheme.item_keys:
            out.writerow([k, element_of.get(k, "")])
    return data_csv, scheme_csv


def run_r(
    rscript: str,
    tmp: Path,
    data: Responses,
    scheme: Scheme,
    design: str,
    population: Path | None = None,
    level: float = 0.95,
) -> list[dict]:
    """Run reference.R and return its rows (fractions, None for NA)."""
    data_csv, scheme_csv = write_inputs(tmp, data, scheme)
    out = tmp / f"r_{design}.csv"
    args = [
        rscript,
        str(REFERENCE),
        str(data_csv),
        str(scheme_csv),
        design,
        str(scheme.satisfied_min),
        str(scheme.max_score),
        repr(level),
        str(out),
    ]
    if population is not None:
        args += [str(population), str(tmp / "weights.csv")]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for name in (
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "df",
            "deff",
            "mean_score",
            "ms_se",
            "ms_low",
            "ms_high",
        ):
            row[name] = None if row[name] == "NA" else float(row[name])
    return rows


def close(python: float | None, r: float | None) -> bool:
    """Tell whether two numbers agree to 1e-8, relative (absolute near zero)."""
    if python is None or r is None:
        return python is None and r is None
    return math.isclose(python, r, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def compare(python_rows: list[dict], r_rows: list[dict]) -> int:
    """Assert every number R gives equals Python's; return how many values were compared."""
    by_key = {(str(r["period"]), str(r["agency"]), r["key"]): r for r in python_rows}
    compared = 0
    for ref in r_rows:
        row = by_key[(ref["period"], ref["agency"], ref["key"])]
        where = f"period {ref['period']} agency {ref['agency']} key {ref['key']}"
        checks = {
            "estimate": (row["estimate"], 100 * ref["estimate"]),
            "se": (row["se"], 100 * ref["se"]),
            "df": (row["df"], ref["df"]),
            "deff": (row["deff"], ref["deff"]),
            "mean_score": (row["mean_score"], ref["mean_score"]),
        }
        if min(ref["estimate"], 1 - ref["estimate"]) < 1e-12:
            # p is 0 or 1, R's only up to rounding: its deff is noise over noise (1e32) and its
            # "beta" interval meaningless; ours are None and Clopper-Pearson (unit tests).
            assert row["deff"] is None and row["method"] == "clopper-pearson"
            del checks["deff"]
        elif ref["ci_low"] is not None:
            checks["ci_low"] = (row["ci_low"], 100 * ref["ci_low"])
            checks["ci_high"] = (row["ci_high"], 100 * ref["ci_high"])
        for name, (mine, theirs) in checks.items():
            assert close(mine, theirs), f"{where} {name}: Python {mine} R {theirs}"
            compared += 1
    return compared


def compare_means(python_rows: list[dict], r_rows: list[dict]) -> int:
    """Assert every mean score, SE and logit-t bound R gives equals Python's; count them."""
    by_key = {(str(r["period"]), str(r["agency"]), r["key"]): r for r in python_rows}
    compared = 0
    for ref in r_rows:
        row = by_key[(ref["period"], ref["agency"], ref["key"])]
        where = f"period {ref['period']} agency {ref['agency']} key {ref['key']}"
        checks = {"mean_score": ("mean_score", "mean_score"), "se": ("se", "ms_se")}
        if ref["ms_low"] is not None:
            checks.update(ci_low=("ci_low", "ms_low"), ci_high=("ci_high", "ms_high"))
        for name, (mine, theirs) in checks.items():
            assert close(row[mine], ref[theirs]), (
                f"{where} mean {name}: {row[mine]} R {ref[theirs]}"
            )
            compared += 1
    return compared


@pytest.mark.parametrize("design", ["srs", "cluster"])
def test_sipas_indices_agree_with_r(rscript, tmp_path, design):
    data, scheme = sipas_data(), Scheme.sipas()
    rows = index_rows(data, scheme, design=design)
    r_rows = run_r(rscript, tmp_path, data, scheme, design)
    assert compare(rows, r_rows) > 1000
    assert compare_means(mean_score_rows(data, scheme, design=design), r_rows) > 700
    keys = {(r["period"], r["agency"], r["key"]) for r in r_rows}
    # The edge cases were exercised: R reported agency 3's composites without B3 ...
    assert ("0", "3", "B") in keys and ("0", "3", "B3") not in keys
    # ... and agency 2 has no element E but a service index over A-D, as Python.
    assert ("0", "2", "E") not in keys and ("0", "2", "service") in keys
    mine = {(r["period"], r["agency"], r["key"]): r for r in rows}
    assert mine[(0, 2, "E")]["estimate"] is None and mine[(0, 2, "E")]["status"] == "suppressed"
    assert mine[(0, 2, "service")]["status"] in ("caution", "suppressed")
    assert "element E" in mine[(0, 2, "service")]["reason"]
    if design == "cluster":
        # One counter: R stops, Python reports no SE and suppresses.
        lone = mine[(0, 4, "service")]
        assert lone["se"] is None and lone["status"] == "suppressed"
        assert "one PSU" in lone["reason"]
        assert ("0", "*", "service") in keys  # "*" uses lonely.psu = "adjust" in both
        assert "single PSU" in mine[(0, "*", "service")]["reason"]


@pytest.mark.parametrize("design", ["srs", "cluster"])
def test_poststratified_indices_agree_with_r(rscript, tmp_path, design):
    scheme = Scheme.sipas()
    data = sipas_data(seed=11, cells=3)
    rng = np.random.default_rng(3)
    population = rng.integers(200, 2000, size=(5, 3)).astype(float)
    weights = poststratify(data, population)
    data = data.with_weights(weights)
    pop_csv = tmp_path / "population.csv"
    with pop_csv.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["period", "agency", "cell", "Freq"])
        for p in range(2):
            for a in range(5):
                for g in range(3):
                    out.writerow([p, a, g, repr(float(population[a, g]))])
    rows = index_rows(data, scheme, design=design)
    # R post-stratifies the raw weights itself: hand it the unadjusted ones.
    raw = sipas_data(seed=11, cells=3)
    r_rows = run_r(rscript, tmp_path, raw, scheme, design, population=pop_csv)
    with (tmp_path / "weights.csv").open() as f:
        r_weights = {int(r["row"]): float(r["w"]) for r in csv.DictReader(f)}
    assert all(close(weights[i], w) for i, w in r_weights.items())
    assert compare(rows, r_rows) > 1000
    assert compare_means(mean_score_rows(data, scheme, design=design), r_rows) > 700


def test_quick_form_rate_agrees_with_r(rscript, tmp_path):
    scheme = Scheme.quick()
    data = clustered_responses(
        5,
        agencies=3,
        psus_per_agency=4,
        respondents_per_psu=20,
        n_items=2,
        periods=1,
        missing=0.05,
        unequal_weights=True,
        scale=3,
    )
    rows = index_rows(data, scheme, design="cluster")
    r_rows = run_r(rscript, tmp_path, data, scheme, "cluster")
    assert compare(rows, r_rows) > 50
    assert compare_means(mean_score_rows(data, scheme, design="cluster"), r_rows) > 30


def test_other_confidence_level_agrees_with_r(rscript, tmp_path):
    data, scheme = sipas_data(seed=13), Scheme.sipas()
    rows = index_rows(data, scheme, design="cluster", level=0.9)
    r_rows = run_r(rscript, tmp_path, data, scheme, "cluster", level=0.9)
    assert compare(rows, r_rows) > 1000
    means = mean_score_rows(data, scheme, design="cluster", level=0.9)
    assert compare_means(means, r_rows) > 700


def test_holm_agrees_with_r(rscript):
    from analysis import holm

    p = [0.01, 0.04, 0.03, 0.2, 0.005, 0.04]
    done = subprocess.run(
        [
            rscript,
            "-e",
            f"cat(sprintf('%.17g', p.adjust(c({', '.join(map(str, p))}), "
            "method = 'holm')), sep = '\\n')",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [float(x) for x in done.stdout.split()]
    assert all(close(a, b) for a, b in zip(holm(p), expected, strict=True))
