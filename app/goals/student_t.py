"""Student's t distribution in pure Python: its cumulative distribution and its quantiles.

The forecast's prediction interval and its probability of meeting a goal need both
(`app.goals.forecast`); scipy is not a dependency of the product, so they are computed here.

- `t_cdf(x, df)` = P(T ≤ x) from the regularized incomplete beta function,
  P(T > |x|) = ½ · I_{df/(df+x²)}(df/2, ½), evaluated by its continued fraction (modified
  Lentz's method, as in Numerical Recipes §6.4).
- `t_ppf(p, df)` is the x with t_cdf(x, df) = p: Newton's method on the upper tail, kept
  inside a bracket that always holds the root, bisecting whenever a Newton step would leave it.

Both accept any real `df > 0`. Past `NORMAL_DF` degrees of freedom the t distribution is the
normal one to far better than double precision shows, and the normal is used instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

# Above this, t and normal quantiles agree to about 1e-9, and the continued fraction would need
# thousands of terms.
NORMAL_DF = 1e7
_MAX_TERMS = 10_000
_EPS = 1e-15
_TINY = 1e-300


def _check_df(df: float) -> None:
    if not df > 0:  # also refuses NaN
        raise ValueError(f"degrees of freedom must be positive, not {df!r}")


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (Lentz); converges fast for x < (a + 1)/(a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        # The even step, then the odd step, of the fraction.
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _beta_inc(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta I_x(a, b), with y = 1 − x given separately so that a
    value of x close to 1 loses no precision."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    # The symmetry I_x(a, b) = 1 − I_{1−x}(b, a), where the fraction converges fast.
    return 1.0 - front * _continued_fraction(b, a, y) / b


def _upper_tail(t: float, df: float) -> float:
    """P(T > t) for t ≥ 0, accurate also when it is tiny."""
    if math.isinf(t):
        return 0.0
    if df > NORMAL_DF:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    t2 = t * t
    return 0.5 * _beta_inc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def _density(t: float, df: float) -> float:
    if df > NORMAL_DF:
        return math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    log_density = (
        math.lgamma((df + 1.0) / 2.0)
        - math.lgamma(df / 2.0)
        - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * math.log1p(t * t / df)
    )
    return math.exp(log_density)


def t_cdf(x: float, df: float) -> float:
    """P(T ≤ x) for Student's t with `df` degrees of freedom (any real df > 0)."""
    _check_df(df)
    if math.isnan(x):
        raise ValueError("x must be a number, not NaN")
    if x >= 0:
        return 1.0 - _upper_tail(x, df)
    return _upper_tail(-x, df)


def t_ppf(p: float, df: float) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom: the x with t_cdf(x) = p.

    −inf at p = 0 and +inf at p = 1."""
    _check_df(df)
    if not 0.0 <= p <= 1.0:  # also refuses NaN
        raise ValueError(f"p must be within [0, 1], not {p!r}")
    if p == 0.5:
        return 0.0
    # Symmetric about 0: solve for the upper tail q = P(T > x) with x > 0, which keeps
    # quantiles near 0 and near 1 equally precise.
    if p > 0.5:
        return _upper_quantile(1.0 - p, df)
    return -_upper_quantile(p, df)


@lru_cache(maxsize=256)
def _upper_quantile(q: float, df: float) -> float:
    """The x ≥ 0 with P(T > x) = q, for 0 ≤ q < 0.5 (cached: a scorecard asks for the same
    few quantiles once per goal)."""
    if q == 0.0:
        return math.inf
    # A bracket [low, high] with tail(low) > q ≥ tail(high), found by doubling.
    low, high = 0.0, 1.0
    while _upper_tail(high, df) > q:
        low, high = high, high * 2.0
        if math.isinf(high):
            return math.inf
    t = 0.5 * (low + high)
    for _ in range(200):
        excess = _upper_tail(t, df) - q  # falls as t grows
        if excess == 0.0:
            return t
        if excess > 0.0:
            low = t
        else:
            high = t
        density = _density(t, df)
        step = excess / density if density > 0.0 else math.inf
        candidate = t + step
        if not low < candidate < high:
            candidate = 0.5 * (low + high)
        if abs(candidate - t) <= 4 * _EPS * max(1.0, abs(t)):
            return candidate
        t = candidate
    return t
