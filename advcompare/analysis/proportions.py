"""Intervals, equivalence and power for success rates, single and paired (DESIGN.md §9).

A success rate is a count out of n, so its interval and the comparison of two libraries on the
same images use methods made for proportions, never a percentile bootstrap (which collapses to
a zero-width interval at 0% and 100%):

- :func:`wilson_interval`: one rate (Wilson 1927), positive width at 0% and 100%.
- :func:`tango_interval`: the difference of two *paired* rates, fooled by the first backend
  minus fooled by the second on the same images (Tango 1998, Statistics in Medicine 17:891;
  recommended by Fagerland, Lydersen & Laake 2014, Stat Methods Med Res 24:224). With no
  discordant image it is ``±z²/(n + z²)``, like Wilson's at 100%.
- :func:`equivalent`: two one-sided tests (Schuirmann 1987) at α, read off the
  ``1 − 2α`` interval: "agree within ±margin" when it lies inside ``(−margin, margin)``.
- :func:`mcnemar_power`, :func:`images_for_power`, :func:`detectable_difference`: the exact
  power of McNemar's exact test at ``α / tests`` (the first, strictest step of Holm's
  procedure over ``tests`` p-values), so a run can be sized before it is made.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

DEFAULT_POWER = 0.80
DEFAULT_DIFFERENCE = 0.10  # the one-way discordance a run is sized to detect


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - confidence) / 2))


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for ``k`` successes in ``n`` trials (NaN, NaN for n = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    z = _z(confidence)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    return lo, 1.0 if k == n else min(1.0, centre + half)


def _tango_score(delta: float, only_first: int, only_second: int, n: int) -> float:
    """Tango's score statistic for the paired difference ``delta`` (restricted MLE of the
    second-only probability in closed form)."""
    a = 2 * n
    b = -only_first - only_second + (2 * n - only_first + only_second) * delta
    c = -only_second * delta * (1 - delta)
    p21 = (math.sqrt(max(b * b - 4 * a * c, 0.0)) - b) / (2 * a)
    variance = n * (2 * p21 + delta * (1 - delta))
    gap = only_first - only_second - n * delta
    if variance <= 0:
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)
    return gap / math.sqrt(variance)


def tango_interval(
    only_first: int, only_second: int, n: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Tango's score interval for ``(only_first − only_second) / n``: the difference in success
    rate of two attacks on the same ``n`` images (NaN, NaN for n = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    from scipy.optimize import brentq

    z = _z(confidence)
    estimate = (only_first - only_second) / n
    edge = 1 - 1e-12

    def bound(sign: int) -> float:
        limit = sign * edge
        if estimate == sign * 1.0:
            return float(sign)
        # the score falls as delta grows: the root of T(delta) = ±z between estimate and ±1
        f = lambda d: _tango_score(d, only_first, only_second, n) + sign * z  # noqa: E731
        if f(limit) * sign > 0:  # no root: the whole side lies inside the interval
            return float(sign)
        return float(brentq(f, estimate, limit, xtol=1e-10))

    return bound(-1), bound(1)


def equivalent(lo: float, hi: float, margin: float) -> bool:
    """Whether an interval at level ``1 − 2α`` establishes equivalence at α (TOST): it lies
    strictly inside ``(−margin, margin)``."""
    return bool(-margin < lo and hi < margin)


def _reject_counts(discordant: int, level: float) -> np.ndarray:
    """Per count of first-only images among ``discordant``, whether McNemar's exact test
    (two-sided binomial at ½) rejects at ``level``."""
    from scipy.stats import binom

    k = np.arange(discordant + 1)
    tail = binom.cdf(np.minimum(k, discordant - k), discordant, 0.5)
    return np.minimum(1.0, 2 * tail) <= level


@lru_cache(maxsize=4096)
def mcnemar_power(
    n: int, only_first: float, only_second: float = 0.0, alpha: float = 0.05, tests: int = 1
) -> float:
    """The probability that McNemar's exact test rejects at ``alpha / tests`` when each image
    is fooled by the first backend only with probability ``only_first`` and by the second
    only with ``only_second`` (exact: a sum over the discordant counts)."""
    from scipy.stats import binom

    discordance = only_first + only_second
    if n <= 0 or discordance <= 0:
        return 0.0
    level = alpha / max(tests, 1)
    share = only_first / discordance
    power = 0.0
    weights = binom.pmf(np.arange(n + 1), n, discordance)
    for d in range(1, n + 1):
        if weights[d] < 1e-15:
            continue
        rejects = _reject_counts(d, level)
        power += weights[d] * float(binom.pmf(np.flatnonzero(rejects), d, share).sum())
    return float(power)


def images_for_power(
    difference: float = DEFAULT_DIFFERENCE,
    alpha: float = 0.05,
    tests: int = 1,
    power: float = DEFAULT_POWER,
    limit: int = 100_000,
) -> int:
    """The fewest images at which a one-way difference (one backend fools ``difference`` more
    of the images, the other none the first misses) is detected with ``power``."""
    low, high = 1, 1
    while mcnemar_power(high, difference, 0.0, alpha, tests) < power:
        low, high = high, high * 2
        if high > limit:
            return limit
    while low < high:  # power rises with n (up to the binomial's small saw-teeth)
        mid = (low + high) // 2
        if mcnemar_power(mid, difference, 0.0, alpha, tests) >= power:
            high = mid
        else:
            low = mid + 1
    return high


def detectable_difference(
    n: int, alpha: float = 0.05, tests: int = 1, power: float = DEFAULT_POWER
) -> float:
    """The smallest one-way difference in success (to 0.5 points) that ``n`` images detect
    with ``power`` after the correction over ``tests`` p-values (1.0 if none below)."""
    for points in np.arange(0.005, 1.0001, 0.005):
        if mcnemar_power(n, float(round(points, 3)), 0.0, alpha, tests) >= power:
            return float(round(points, 3))
    return 1.0
