"""Cancellation risk: the chance that a waiting order line is cancelled as it runs late.

The curve is the distribution of a line's *days late at cancellation* (days after its promised
date) as a mixture cure model with a Weibull latency (Boag 1949; Berkson & Gage 1952: a share
of customers never cancels however long they wait):

    F(d) = P(cancelled by d days late) = limit * (1 - exp(-(d / scale) ** shape)),   d >= 0,

and ``limit`` = F(infinity) is the share of lines that a wait without end loses. On whole days
it is a discrete-time hazard model: the chance of a cancellation on day d given none before is
h(d) = 1 - S(d) / S(d - 1) with S = 1 - F (for ``limit`` = 1 the type-I discrete Weibull of
Nakagawa & Osaki 1975, q = exp(-scale ** -shape)).

**Default curve** (:data:`DEFAULT_CURVE`, used without enough history): ``limit`` 0.40,
``scale`` 14 days, ``shape`` 1.5. The limit follows the out-of-stock studies of Gruen, Corsten &
Bharadwaj (2002, *Retail Out-of-Stocks: A Worldwide Examination*: 31% of shoppers buy the item
elsewhere and 9% do not buy it, so about 40% of the sale is lost to the seller); that backorders
lead to cancellations and lost later sales is measured in Anderson, Fitzsimons & Simester (2006,
*Measuring and Mitigating the Costs of Stockouts*, Management Science 52(11)). Scale and shape are
a planning assumption, not an estimate: a shape above 1 makes the hazard rise over the first
weeks (a customer told of a short delay mostly waits, patience then runs out; the hazard of
the whole population peaks 9 days late and then falls, as those who would leave have left),
and half of the eventual cancellations happen within scale * ln(2) ** (1 / shape) = 11 days
late. F(7) = 0.12, F(14) = 0.25, F(30) = 0.38.

**Fitted curve** (:func:`curve_from_history`): when ``customer_orders`` holds shipped and
cancelled lines with their ``status_date``, each line gives a duration in whole days late
(``status_date`` - promise; the promise is ``promised_date``, else ``order_date`` +
:data:`DEFAULT_PROMISE_DAYS`): a line cancelled d >= 1 days late is an event in (d - 1, d]; a
shipped line is right-censored at its ship delay (it was not cancelled by then); an open line is
right-censored at its lateness on the as-of date. Lines cancelled on or before their promise are
not cancellations caused by a delay and are left out (counted in the curve's note). The three
parameters maximise the censored likelihood

    sum over events  log(F(d) - F(d - 1))  +  sum over censored lines  log(1 - F(c)).

Ignoring the censoring (counting shipped lines as never cancelled) would bias the curve low:
those customers were served before they had the chance to leave. With fewer than
:data:`MIN_CANCELLATIONS` cancellations (ten events per parameter, Peduzzi et al. 1995) or a fit
that does not converge, the default curve is used; the chosen curve and its parameters go to the
``cancellation_curve`` table of the run.

**Risk of a waiting line** (:meth:`CancellationCurve.probability`): a line that is already
``now`` days late and still open has survived that far, so the chance that it is cancelled
before it ships on its ETA ``e`` days late is P = (F(e) - F(now)) / (1 - F(now)); lines with no
supply planned wait without end: e = infinity, F = ``limit``. Expected revenue lost = value of
the quantity still to ship x P.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

#: Days from order to the promised date assumed for lines without a ``promised_date``.
DEFAULT_PROMISE_DAYS = 7
#: Fewest delay-driven cancellations for a fitted curve (10 events per parameter, Peduzzi 1995).
MIN_CANCELLATIONS = 30
CURVE_COLUMNS = [
    "source", "limit_share", "scale_days", "shape", "cancellations", "censored",
    "cancelled_before_promise", "max_days_late", "log_likelihood", "note",
]
# Bounds of the fit (the optimiser works on logit(limit), log(scale), log(shape)).
_LIMIT_BOUNDS = (1e-3, 0.999)
_SCALE_BOUNDS = (0.25, 3650.0)
_SHAPE_BOUNDS = (0.1, 10.0)


@dataclass(frozen=True)
class CancellationCurve:
    """F(d) = limit * (1 - exp(-(d / scale_days) ** shape)): P(cancelled by d days late).

    >>> round(float(DEFAULT_CURVE.cdf(14)), 4)  # 0.4 * (1 - e^-1)
    0.2528
    >>> round(float(DEFAULT_CURVE.probability(14, 14)), 4)  # ships on the day: no new risk
    0.0
    >>> round(float(DEFAULT_CURVE.probability(0, np.inf)), 4)  # no supply: the limit
    0.4
    """

    limit: float
    scale_days: float
    shape: float
    source: str = "default"  # default | fitted
    cancellations: int = 0  # delay-driven cancellations behind a fit
    censored: int = 0  # shipped or open lines behind a fit
    cancelled_before_promise: int = 0  # left out of the fit
    max_days_late: float = float("nan")  # longest delay observed in the fit data
    log_likelihood: float = float("nan")
    note: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.limit <= 1:
            raise ValueError(f"cancellation curve limit must be in (0, 1], got {self.limit}")
        if self.scale_days <= 0 or self.shape <= 0:
            raise ValueError(
                f"cancellation curve scale and shape must be > 0, got {self.scale_days}, "
                f"{self.shape}"
            )

    def cdf(self, days_late: object) -> np.ndarray:
        """F(d); d <= 0 gives 0, d = inf gives ``limit``."""
        d = np.clip(np.asarray(days_late, dtype=float), 0.0, None)
        with np.errstate(over="ignore"):
            return self.limit * -np.expm1(-((d / self.scale_days) ** self.shape))

    def survival(self, days_late: object) -> np.ndarray:
        """S(d) = 1 - F(d): P(still waiting, not cancelled, d days late)."""
        return 1.0 - self.cdf(days_late)

    def hazard(self, day: object) -> np.ndarray:
        """Discrete hazard h(d) = 1 - S(d) / S(d - 1): P(cancelled on day d late | not before).

        >>> round(float(DEFAULT_CURVE.hazard(1)), 4)  # F(1) = 0.4 (1 - exp(-(1/14)^1.5))
        0.0076
        """
        d = np.asarray(day, dtype=float)
        return 1.0 - self.survival(d) / self.survival(d - 1)

    def probability(self, days_late_now: object, days_late_at_eta: object) -> np.ndarray:
        """P(cancelled before shipping at ``days_late_at_eta`` | open at ``days_late_now``):
        (F(e) - F(now)) / (1 - F(now)); NaN ETAs (no supply planned) count as infinity."""
        now = np.nan_to_num(np.asarray(days_late_now, dtype=float), nan=0.0)
        eta = np.asarray(days_late_at_eta, dtype=float)
        eta = np.maximum(np.where(np.isnan(eta), np.inf, eta), now)
        f_now = self.cdf(now)
        return np.clip((self.cdf(eta) - f_now) / (1.0 - f_now), 0.0, 1.0)

    def to_frame(self) -> pd.DataFrame:
        """One row for the ``cancellation_curve`` table (``CURVE_COLUMNS``; ``limit`` is
        ``limit_share``, LIMIT being an SQL keyword)."""
        row = asdict(self)
        row["limit_share"] = row.pop("limit")
        return pd.DataFrame([{c: row[c] for c in CURVE_COLUMNS}], columns=CURVE_COLUMNS)

    @staticmethod
    def from_frame(frame: pd.DataFrame) -> CancellationCurve:
        """The curve of a ``cancellation_curve`` row (:meth:`to_frame`); the default curve when
        ``frame`` is empty (a run that stored none)."""
        if frame.empty:
            return DEFAULT_CURVE
        row = frame.iloc[0]
        return CancellationCurve(
            limit=float(row["limit_share"]), scale_days=float(row["scale_days"]),
            shape=float(row["shape"]), source=str(row["source"]),
            note=str(row.get("note") or ""),
        )


DEFAULT_CURVE = CancellationCurve(
    limit=0.40, scale_days=14.0, shape=1.5, source="default",
    note="default curve (Gruen et al. 2002 limit; planning assumption for scale and shape)",
)


def effective_promise(
    orders: pd.DataFrame, default_promise_days: int = DEFAULT_PROMISE_DAYS
) -> pd.Series:
    """``promised_date``, else ``order_date`` + ``default_promise_days`` (as Timestamps)."""
    order_date = pd.to_datetime(orders["order_date"])
    if "promised_date" in orders:
        promised = pd.to_datetime(orders["promised_date"])
    else:
        promised = pd.Series(pd.NaT, index=orders.index, dtype="datetime64[us]")
    return promised.fillna(order_date + pd.Timedelta(days=default_promise_days))


def days_late(when: object, promise: pd.Series) -> pd.Series:
    """Whole days from ``promise`` to ``when`` (negative: before the promise)."""
    return (pd.to_datetime(when) - promise).dt.days.astype(float)


def cancellation_durations(
    order_history: pd.DataFrame,
    as_of: date | None = None,
    default_promise_days: int = DEFAULT_PROMISE_DAYS,
) -> pd.DataFrame:
    """The fit data: one row per usable line with ``days_late`` and ``cancelled`` (event flag).

    Cancelled lines: days late at ``status_date`` (>= 1; earlier ones are dropped and counted in
    ``attrs['cancelled_before_promise']``). Shipped lines: censored at max(days late at
    ``status_date``, 0). Open lines (with ``as_of``): censored at max(days late on ``as_of``, 0).
    Lines without a ``status_date`` (shipped or cancelled) cannot be placed and are dropped.
    """
    empty = pd.DataFrame({"days_late": pd.Series(dtype=float), "cancelled": pd.Series(dtype=bool)})
    empty.attrs["cancelled_before_promise"] = 0
    if order_history is None or order_history.empty or "status" not in order_history:
        return empty
    status = order_history["status"].fillna("open").astype(str).str.lower()
    promise = effective_promise(order_history, default_promise_days)
    if "status_date" in order_history:
        status_date = pd.to_datetime(order_history["status_date"])
    else:
        status_date = pd.Series(pd.NaT, index=order_history.index, dtype="datetime64[us]")
    late_at_status = days_late(status_date, promise)
    cancelled = (status == "cancelled") & late_at_status.notna()
    shipped = (status == "shipped") & late_at_status.notna()
    before_promise = cancelled & (late_at_status < 1)
    parts = [
        pd.DataFrame({"days_late": late_at_status[cancelled & ~before_promise], "cancelled": True}),
        pd.DataFrame({"days_late": late_at_status[shipped].clip(lower=0), "cancelled": False}),
    ]
    if as_of is not None:
        open_now = status == "open"
        late_now = days_late(pd.Series(pd.Timestamp(as_of), index=promise.index), promise)
        parts.append(pd.DataFrame({"days_late": late_now[open_now].clip(lower=0),
                                   "cancelled": False}))
    out = pd.concat(parts, ignore_index=True).astype({"days_late": float, "cancelled": bool})
    out.attrs["cancelled_before_promise"] = int(before_promise.sum())
    return out


def fit_curve(
    days_late: object,
    cancelled: object,
    start: CancellationCurve = DEFAULT_CURVE,
) -> CancellationCurve:
    """Maximum-likelihood mixture-cure Weibull on right-censored, day-grouped durations.

    ``days_late``: whole days late at cancellation (events, >= 1) or at censoring (>= 0);
    ``cancelled``: True for events. Returns a ``fitted`` curve; raises ValueError when there are
    no events or the optimiser does not converge.
    """
    from scipy.optimize import minimize

    d = np.asarray(days_late, dtype=float)
    event = np.asarray(cancelled, dtype=bool)
    if d.shape != event.shape:
        raise ValueError("days_late and cancelled must have the same length")
    if np.isnan(d).any():
        raise ValueError("days_late has missing values")
    if not event.any():
        raise ValueError("no cancellations to fit")
    if (d[event] < 1).any():
        raise ValueError("a cancellation must be at least 1 day late (events are (d - 1, d])")
    # Whole days: group identical (days, event) pairs, weights = counts (fast for many lines).
    groups = pd.DataFrame({"d": np.round(d), "e": event}).value_counts().reset_index()
    gd = groups["d"].to_numpy(dtype=float)
    ge = groups["e"].to_numpy(dtype=bool)
    gw = groups["count"].to_numpy(dtype=float)
    ev_d, ev_w = gd[ge], gw[ge]
    ce_d, ce_w = gd[~ge], gw[~ge]

    def nll(theta: np.ndarray) -> float:
        limit = 1.0 / (1.0 + np.exp(-theta[0]))
        scale, shape = np.exp(theta[1]), np.exp(theta[2])
        a = (np.maximum(ev_d - 1.0, 0.0) / scale) ** shape
        b = (ev_d / scale) ** shape
        # log(F(d) - F(d-1)) = log(limit) - a + log(1 - exp(-(b - a)))
        log_event = np.log(limit) - a + np.log(-np.expm1(-(b - a)) + 1e-300)
        log_surv = np.log1p(-limit * -np.expm1(-((ce_d / scale) ** shape)))
        return -float(ev_w @ log_event + ce_w @ log_surv)

    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    x0 = np.array([logit(min(max(start.limit, 0.01), 0.99)), np.log(start.scale_days),
                   np.log(start.shape)])
    bounds = [(logit(_LIMIT_BOUNDS[0]), logit(_LIMIT_BOUNDS[1])),
              tuple(np.log(_SCALE_BOUNDS)), tuple(np.log(_SHAPE_BOUNDS))]
    result = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    if not result.success or not np.isfinite(result.fun):
        raise ValueError(f"cancellation curve fit did not converge: {result.message}")
    limit = 1.0 / (1.0 + np.exp(-result.x[0]))
    return CancellationCurve(
        limit=float(limit), scale_days=float(np.exp(result.x[1])), shape=float(np.exp(result.x[2])),
        source="fitted", cancellations=int(ev_w.sum()), censored=int(ce_w.sum()),
        max_days_late=float(gd.max()), log_likelihood=float(-result.fun),
    )


def curve_from_history(
    order_history: pd.DataFrame | None,
    as_of: date | None = None,
    min_cancellations: int = MIN_CANCELLATIONS,
    default: CancellationCurve = DEFAULT_CURVE,
    default_promise_days: int = DEFAULT_PROMISE_DAYS,
) -> CancellationCurve:
    """The curve a run uses: fitted on the order history when it holds at least
    ``min_cancellations`` delay-driven cancellations and the fit converges, else ``default``
    (its ``note`` says why)."""
    durations = cancellation_durations(order_history, as_of, default_promise_days)
    before = int(durations.attrs.get("cancelled_before_promise", 0))
    events = int(durations["cancelled"].sum())
    counts = {"cancellations": events, "censored": int((~durations["cancelled"]).sum()),
              "cancelled_before_promise": before}
    if events < min_cancellations:
        return replace(default, source="default", **counts, note=(
            f"default curve: {events} cancellations after the promised date in the order "
            f"history, fewer than the {min_cancellations} needed for a fit"))
    try:
        curve = fit_curve(durations["days_late"], durations["cancelled"], start=default)
    except ValueError as exc:
        return replace(default, source="default", **counts, note=f"default curve: {exc}")
    return replace(curve, cancelled_before_promise=before, note=(
        f"fitted on {curve.cancellations} cancellations and {curve.censored} shipped or open "
        f"lines (censored); {before} lines cancelled before their promise left out"))


def line_risk(
    lines: pd.DataFrame,
    as_of: date,
    curve: CancellationCurve = DEFAULT_CURVE,
    default_promise_days: int = DEFAULT_PROMISE_DAYS,
) -> pd.DataFrame:
    """Cancellation probability and expected revenue lost of waiting lines.

    ``lines``: order_date, promised_date, eta (NaT = no supply planned), quantity,
    allocated_now, unit_price. Returns ``cancel_probability`` = P(cancelled before the ETA |
    open now) and ``expected_revenue_lost`` = (quantity - allocated_now) x unit_price x P
    (missing prices count as 0), aligned with ``lines``.
    """
    promise = effective_promise(lines, default_promise_days)
    late_now = days_late(pd.Series(pd.Timestamp(as_of), index=lines.index), promise)
    late_eta = days_late(lines["eta"], promise)
    probability = curve.probability(late_now.to_numpy(), late_eta.to_numpy())
    waiting = (lines["quantity"].astype(float) - lines["allocated_now"].astype(float)).clip(lower=0)
    price = pd.to_numeric(lines["unit_price"], errors="coerce").fillna(0.0).clip(lower=0)
    return pd.DataFrame(
        {"cancel_probability": probability,
         "expected_revenue_lost": waiting.to_numpy() * price.to_numpy() * probability},
        index=lines.index,
    )
