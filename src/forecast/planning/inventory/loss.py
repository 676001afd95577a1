"""Loss functions: standard normal, normal, Poisson and negative binomial (first and second order).

n(x) = E[(X - x)+] is the expected shortage of a stock x against demand X; the second-order
loss n2(x) = 1/2 E[((X - x)+)^2] sums (or integrates) it, for (r,Q) costs and backorders.
Source: S&S Appendix C (loss functions); Johnson, Kemp & Kotz, *Univariate Discrete
Distributions*, 3rd ed., 5.1 (negative binomial).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special
from scipy.stats import poisson

from forecast.planning.inventory._common import FloatOut, _check_integer, _check_nonnegative, _out

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / _SQRT_2PI


def _std_loss(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        loss = _phi(z) - z * special.ndtr(-z)
    # z = +inf gives inf * 0; the loss there is 0.
    return np.where(np.isposinf(z), 0.0, loss)


def _std_second_loss(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        loss = 0.5 * ((z * z + 1.0) * special.ndtr(-z) - z * _phi(z))
    return np.where(np.isposinf(z), 0.0, loss)


def standard_normal_loss(z: ArrayLike) -> FloatOut:
    """First-order standard normal loss L(z) = E[(Z - z)+] = phi(z) - z(1 - Phi(z)).

    Also written G(k) or G_u(k) (SPT, normal-distribution appendix and the fill-rate
    sections of the probabilistic-demand chapter). Source: S&S Appendix C (loss functions).

    >>> round(standard_normal_loss(0.3), 6)
    0.266761
    >>> standard_normal_loss([0.0, 3.1]).round(6).tolist()
    [0.398942, 0.000267]
    """
    return _out(_std_loss(np.asarray(z, dtype=float)))


def standard_normal_complementary_loss(z: ArrayLike) -> FloatOut:
    """Complementary standard normal loss Lbar(z) = E[(z - Z)+] = z + L(z).

    Source: S&S Appendix C.

    >>> round(standard_normal_complementary_loss(0.3), 6)
    0.566761
    """
    z = np.asarray(z, dtype=float)
    return _out(z + _std_loss(z))


def standard_normal_second_order_loss(z: ArrayLike) -> FloatOut:
    """Second-order standard normal loss L2(z) = 1/2 E[((Z - z)+)^2].

    L2(z) = 1/2 [(z^2 + 1)(1 - Phi(z)) - z phi(z)]; it is the integral of L from z to infinity.
    Source: S&S Appendix C (second-order loss functions), used for (r,Q) costs in Ch. 5.

    >>> round(standard_normal_second_order_loss(0.0), 6)
    0.25
    """
    return _out(_std_second_loss(np.asarray(z, dtype=float)))


def _normal_loss(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = sd * _std_loss((x - mean) / sd)
    return np.where(sd > 0, scaled, np.maximum(mean - x, 0.0))


def _normal_second_loss(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = sd * sd * _std_second_loss((x - mean) / sd)
    return np.where(sd > 0, scaled, 0.5 * np.maximum(mean - x, 0.0) ** 2)


def normal_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> FloatOut:
    """Normal first-order loss n(x) = E[(D - x)+] = sigma L((x - mu)/sigma), D ~ N(mu, sigma^2).

    With sigma = 0 it is (mu - x)+. This is the expected shortage per cycle (ESC) of a reorder
    point x (Chopra & Meindl Ch. 12) and the expected backorders of a base-stock level x.
    Source: S&S Appendix C.

    >>> round(normal_loss(40, 50, 8), 6)
    10.404695
    """
    sd = _check_nonnegative(sd, "sd")
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    return _out(_normal_loss(x, mean, sd))


def normal_second_order_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> FloatOut:
    """Normal second-order loss n2(x) = 1/2 E[((D - x)+)^2] = sigma^2 L2((x - mu)/sigma).

    Source: S&S Appendix C.

    >>> round(normal_second_order_loss(50, 50, 8), 6)
    16.0
    """
    sd = _check_nonnegative(sd, "sd")
    x, mean = np.asarray(x, dtype=float), np.asarray(mean, dtype=float)
    return _out(_normal_second_loss(x, mean, sd))


def _poisson_loss(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    # For real x: E[(X - x)+] = lam P(X >= floor(x)) - x P(X > floor(x)).
    k = np.floor(x)
    return lam * poisson.sf(k - 1, lam) - x * poisson.sf(k, lam)


def _poisson_second_loss(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    d = x - lam
    return 0.5 * ((d * d + x) * poisson.sf(x, lam) - lam * d * poisson.pmf(x, lam))


def poisson_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Poisson first-order loss n(x) = E[(X - x)+] for X ~ Poisson(lam).

    For integer x: n(x) = (lam - x)(1 - F(x)) + lam f(x). It equals the expected backorders of a
    base-stock level x when lead-time demand is Poisson. Source: S&S Appendix C.

    >>> round(poisson_loss(5, 7), 6)
    2.2926
    >>> poisson_loss([5, 220], [7, 200]).round(6).tolist()
    [2.2926, 0.536006]
    """
    lam = _check_nonnegative(lam, "lam")
    return _out(_poisson_loss(np.asarray(x, dtype=float), lam))


def poisson_complementary_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Complementary Poisson loss nbar(x) = E[(x - X)+] = x - lam + n(x).

    Equals the expected on-hand inventory of a base-stock level x with Poisson lead-time
    demand. Source: S&S Appendix C.

    >>> round(poisson_complementary_loss(5, 7), 6)
    0.2926
    """
    lam = _check_nonnegative(lam, "lam")
    x = np.asarray(x, dtype=float)
    return _out(x - lam + _poisson_loss(x, lam))


def poisson_second_order_loss(x: ArrayLike, lam: ArrayLike) -> FloatOut:
    """Poisson second-order loss n2(x) = 1/2 E[(X - x)+ (X - x - 1)+] for integer x.

    n2(x) = 1/2 [((x - lam)^2 + x)(1 - F(x)) - lam (x - lam) f(x)] = sum_{y > x} n(y), so
    sum_{y=r+1}^{r+Q} n(y) = n2(r) - n2(r+Q). Source: S&S Appendix C; used for the exact
    Poisson (r,Q) cost of S&S Ch. 5.

    >>> round(poisson_second_order_loss(0, 2), 6)
    2.0
    """
    lam = _check_nonnegative(lam, "lam")
    x = _check_integer(x, "x").astype(float)
    return _out(_poisson_second_loss(x, lam))


_NB_SIZE_MAX = 1e6  # a negative binomial with a larger size is Poisson for all practical purposes


def _nb_shape(mean: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean/variance (1-d, or their broadcast shape) and which are NB, Poisson or a point mass."""
    mean, variance = np.broadcast_arrays(
        np.atleast_1d(np.asarray(mean, float)), np.atleast_1d(np.asarray(variance, float))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        size = mean**2 / (variance - mean)
    nb = (mean > 0) & (variance > mean) & (size < _NB_SIZE_MAX)
    pois = (mean > 0) & (variance > 0) & ~nb
    return mean, variance, np.where(nb, size, np.nan), nb, pois


def _count_sf(
    k: np.ndarray, mean: np.ndarray, size: np.ndarray, nb: np.ndarray, pois: np.ndarray
) -> np.ndarray:
    """P(X > k) for integer-valued k (as floats) of the NB(size, mean) / Poisson(mean) rows;
    rows that are neither are a point mass at ``mean``."""
    out = (k < mean).astype(float)  # point mass
    ok = k >= 0
    sel = nb & ok
    if sel.any():  # P(X > k) = I_{1-p}(k + 1, size), p = size / (size + mean)
        s = size[sel]
        out[sel] = special.betainc(k[sel] + 1.0, s, mean[sel] / (s + mean[sel]))
    sel = pois & ok
    if sel.any():  # P(X > k) = P(k + 1, mean), the regularised lower incomplete gamma
        out[sel] = special.gammainc(k[sel] + 1.0, mean[sel])
    out[(nb | pois) & ~ok] = 1.0
    return out


def _nb_sf(x: np.ndarray, mean, size, nb, pois) -> np.ndarray:
    return _count_sf(np.floor(x), mean, size, nb, pois)


def _nb_loss(x: np.ndarray, mean, size, nb, pois) -> np.ndarray:
    # E[(X - x)+] = mu P(Y >= floor(x)) - x P(X > floor(x)), Y ~ NB(size + 1, p) (the same p,
    # so mean mu (size + 1) / size); for the Poisson Y is X.
    k = np.floor(x)
    mean_y = np.where(nb, mean * (size + 1.0) / size, mean)
    upper = _count_sf(k - 1.0, mean_y, np.where(nb, size + 1.0, np.nan), nb, pois)
    loss = mean * upper - x * _count_sf(k, mean, size, nb, pois)
    return np.where(nb | pois, np.maximum(loss, 0.0), np.maximum(mean - x, 0.0))


def negative_binomial_sf(x: ArrayLike, mean: ArrayLike, variance: ArrayLike) -> FloatOut:
    """P(X > x) for the negative binomial X with the given mean and variance.

    size k = mu^2 / (var - mu), p = k / (k + mu); P(X > x) = I_{1-p}(floor(x) + 1, k) (the
    regularised incomplete beta function). A variance at or below the mean (no over-dispersion)
    gives the Poisson(mu) (a little wider than asked when below); a variance of 0 a point mass
    at mu. Source: Johnson, Kemp & Kotz, *Univariate Discrete Distributions*, 3rd ed., 5.1.

    >>> round(negative_binomial_sf(2, 1.0, 2.0), 6)  # geometric, p = 1/2: P(X > 2) = 1/8
    0.125
    """
    mean, variance = _check_nonnegative(mean, "mean"), _check_nonnegative(variance, "variance")
    x = np.asarray(x, dtype=float)
    x, mean, variance = np.broadcast_arrays(x, mean, variance)
    shape = x.shape
    mean, variance, size, nb, pois = _nb_shape(mean, variance)
    return _out(_nb_sf(np.atleast_1d(x).astype(float), mean, size, nb, pois).reshape(shape))


def negative_binomial_loss(x: ArrayLike, mean: ArrayLike, variance: ArrayLike) -> FloatOut:
    """Negative binomial first-order loss n(x) = E[(X - x)+], X with the given mean and variance.

    n(x) = mu P(Y >= floor(x)) - x P(X > floor(x)), Y ~ NB(k + 1, p), X ~ NB(k, p),
    k = mu^2 / (var - mu), p = k / (k + mu): from the identity y f_k(y) = mu f_{k+1}(y - 1) of the
    NB probabilities. It is exact at integer x and linear in between (X takes integer values).
    The variance rules of :func:`negative_binomial_sf` apply (Poisson, point mass). It is the
    expected shortage of a stock x against over-dispersed (gamma-Poisson) demand, the lead-time
    demand of slow and erratic items for which the normal loss is poor. Sources: S&S Appendix C
    (discrete loss functions n(x) = sum_{y > x} (y - x) f(y)); Johnson, Kemp & Kotz 5.1.

    >>> round(negative_binomial_loss(2, 1.0, 2.0), 6)  # geometric, p = 1/2: (1 - p)^3 / p = 1/4
    0.25
    >>> round(negative_binomial_loss(5, 7.0, 7.0), 6)  # variance = mean: the Poisson loss
    2.2926
    """
    mean, variance = _check_nonnegative(mean, "mean"), _check_nonnegative(variance, "variance")
    x = np.asarray(x, dtype=float)
    x, mean, variance = np.broadcast_arrays(x, mean, variance)
    shape = x.shape
    mean, variance, size, nb, pois = _nb_shape(mean, variance)
    return _out(_nb_loss(np.atleast_1d(x).astype(float), mean, size, nb, pois).reshape(shape))
