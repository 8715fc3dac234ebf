"""Student's t in pure Python (app.goals.student_t) against textbook tables and closed forms."""

from __future__ import annotations

import math

import pytest

from app.goals.student_t import t_cdf, t_ppf

# One-sided upper quantiles t_p from the usual tables (e.g. NIST/SEMATECH, Table of Critical
# Values of Student's t), four decimals.
TABLE = [
    (0.90, 1, 3.0777),
    (0.90, 2, 1.8856),
    (0.90, 3, 1.6377),
    (0.90, 4, 1.5332),
    (0.90, 10, 1.3722),
    (0.90, 30, 1.3104),
    (0.95, 1, 6.3138),
    (0.95, 5, 2.0150),
    (0.95, 20, 1.7247),
    (0.975, 1, 12.7062),
    (0.975, 2, 4.3027),
    (0.975, 10, 2.2281),
    (0.975, 100, 1.9840),
    (0.99, 3, 4.5407),
    (0.995, 7, 3.4995),
    (0.9995, 2, 31.5991),
]


@pytest.mark.parametrize(("p", "df", "quantile"), TABLE)
def test_quantiles_match_the_table(p: float, df: float, quantile: float) -> None:
    assert t_ppf(p, df) == pytest.approx(quantile, abs=1e-4)
    assert t_ppf(1 - p, df) == pytest.approx(-quantile, abs=1e-4)
    assert t_cdf(quantile, df) == pytest.approx(p, abs=1e-4)


@pytest.mark.parametrize("df", [0.5, 1, 2, 3, 7.5, 30, 1e4, 1e9])
def test_the_centre_and_the_symmetry(df: float) -> None:
    assert t_cdf(0.0, df) == 0.5
    assert t_ppf(0.5, df) == 0.0
    for x in (0.1, 1.0, 2.5, 40.0):
        assert t_cdf(-x, df) == pytest.approx(1 - t_cdf(x, df), abs=1e-12)


X = [-1e6, -30.0, -3.0, -1.0, -0.25, 0.0, 0.3, 1.0, 2.0, 7.0, 1e3]


@pytest.mark.parametrize("x", X)
def test_closed_forms_for_one_two_and_four_degrees_of_freedom(x: float) -> None:
    # df 1 is the Cauchy distribution; df 2 and 4 have elementary forms too.
    assert t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-12)
    assert t_cdf(x, 2) == pytest.approx(0.5 + x / (2 * math.sqrt(2 + x * x)), abs=1e-12)
    u = x / math.sqrt(1 + x * x / 4)
    four = 0.5 + 3 / 8 * u * (1 - x * x / (12 * (1 + x * x / 4)))
    assert t_cdf(x, 4) == pytest.approx(four, abs=1e-12)


def test_many_degrees_of_freedom_approach_the_normal() -> None:
    assert t_ppf(0.9, 1e6) == pytest.approx(1.281552, abs=1e-5)
    assert t_ppf(0.975, 1e12) == pytest.approx(1.959964, abs=1e-6)
    assert t_cdf(1.959964, 1e12) == pytest.approx(0.975, abs=1e-6)


@pytest.mark.parametrize("df", [1, 2, 3, 10, 250])
@pytest.mark.parametrize("p", [1e-12, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-6, 1 - 1e-12])
def test_the_quantile_inverts_the_distribution(p: float, df: float) -> None:
    assert t_cdf(t_ppf(p, df), df) == pytest.approx(p, rel=1e-9, abs=1e-15)


def test_the_tails_stay_precise() -> None:
    # Cauchy: P(T > x) = atan(1/x)/π ≈ 1/(πx), far below what 1 − cdf could resolve.
    assert t_cdf(-1e10, 1) == pytest.approx(1 / (math.pi * 1e10), rel=1e-9)
    # and its quantile is −cot(πp), computed without the cancellation of tan(π(p − ½)).
    assert t_ppf(1e-10, 1) == pytest.approx(-1 / math.tan(math.pi * 1e-10), rel=1e-9)


def test_the_ends() -> None:
    assert t_ppf(0.0, 3) == -math.inf
    assert t_ppf(1.0, 3) == math.inf
    assert t_cdf(math.inf, 3) == 1.0
    assert t_cdf(-math.inf, 3) == 0.0


@pytest.mark.parametrize(("p", "df"), [(-0.1, 3), (1.1, 3), (math.nan, 3), (0.5, 0), (0.5, -2)])
def test_nonsense_is_refused(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_ppf(p, df)


@pytest.mark.parametrize(("x", "df"), [(math.nan, 3), (1.0, 0), (1.0, math.nan)])
def test_nonsense_is_refused_by_the_distribution(x: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_cdf(x, df)
