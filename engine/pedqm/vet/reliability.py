"""Can a measure tell practices apart? Signal-to-noise reliability from the beta-binomial model.

Each entity's true rate p_j is drawn from Beta(alpha, beta) and its numerator is Binomial(n_j, p_j)
(Adams, RAND TR-653, 2009). Reliability is the share of the variance in observed rates that is
between entities: sigma2_b / (sigma2_b + sigma2_w,j). alpha and beta are fitted by maximum
likelihood on the entities' (x_j, n_j); the within-entity variance is the model's expected
binomial variance, mu(1-mu)(alpha+beta)/((alpha+beta+1) n_j), giving R_j = n_j / (n_j + alpha + beta);
Adams' plug-in form is reported beside it with the entity's shrunken rate in the noise: with its raw
rate, an entity at 0/n or n/n (every entity of n = 1) would show binomial noise 0 and reliability 1.

Both the beta-binomial and the split-half figures rest on a handful of entities, so
:func:`bootstrap_reliability` resamples entities (seeded) to give each an interval and to say
whether they disagree by more than that uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaincinv, betaln, digamma, expit, logit

_LOG_S_BOUNDS = (math.log(1e-4), math.log(1e8))  # alpha + beta
_NO_SPREAD = 1e6  # alpha + beta beyond this: no between-entity variance detected


@dataclass(frozen=True)
class BetaBinomialFit:
    alpha: float
    beta: float
    log_likelihood: float  # without the binomial coefficients, which do not depend on the parameters
    n_entities: int
    converged: bool
    boundary: bool  # alpha + beta went to infinity: no between-entity variance was detected

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def between_variance(self) -> float:
        """Variance of the true rates across entities, alpha beta / ((alpha+beta)^2 (alpha+beta+1))."""
        s = self.alpha + self.beta
        return 0.0 if self.boundary else self.alpha * self.beta / (s * s * (s + 1))

    @property
    def icc(self) -> float:
        """Intra-entity correlation 1/(alpha+beta+1): the reliability of a single patient."""
        return 0.0 if self.boundary else 1.0 / (self.alpha + self.beta + 1)

    def within_variance(self, n: float) -> float:
        """The model's expected binomial variance of an entity's rate with denominator n."""
        s = self.alpha + self.beta
        return self.mean * (1 - self.mean) * s / ((s + 1) * n)


def _neg_loglik(theta: np.ndarray, x: np.ndarray, n: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log-likelihood and its analytic gradient in (logit mean, log(alpha+beta)): the
    gradient spares the optimiser finite differences, which the bootstrap's hundreds of fits need."""
    mu, s = float(expit(theta[0])), math.exp(theta[1])
    a, b = mu * s, (1 - mu) * s
    ll = float(np.sum(betaln(x + a, n - x + b) - betaln(a, b)))
    common = digamma(a + b) - digamma(n + a + b)
    da = float(np.sum(digamma(x + a) - digamma(a) + common))
    db = float(np.sum(digamma(n - x + b) - digamma(b) + common))
    grad = np.array([s * mu * (1 - mu) * (da - db), a * da + b * db])
    return -ll, -grad


def fit_beta_binomial(x: Sequence[int], n: Sequence[int], method: str = "L-BFGS-B") -> BetaBinomialFit:
    """Maximum-likelihood alpha and beta from entities' numerators and denominators (n > 0).

    Optimised over (logit mean, log(alpha+beta)) from method-of-moments starting values, so the
    search never leaves the parameter space; at least two entities and both outcomes are needed.
    The bootstrap passes method "TNC": a few times faster, where L-BFGS-B's threaded BLAS calls
    crawl on a busy machine, and as good away from the flat no-variance boundary.
    """
    xs, ns = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    keep = ns > 0
    xs, ns = xs[keep], ns[keep]
    if len(xs) < 2:
        raise ValueError("a beta-binomial fit needs at least two entities with a denominator")
    total_x, total_n = xs.sum(), ns.sum()
    if total_x == 0 or total_x == total_n:
        raise ValueError("a beta-binomial fit needs both outcomes: every entity's rate is 0 or every one is 1")
    mu0 = total_x / total_n
    rates = xs / ns
    # moments: Var(rate) ~ mu(1-mu)/n_bar * (1 + (n_bar - 1) rho), rho = 1/(s+1)
    n_bar = ns.mean()
    v = float(np.var(rates, ddof=1)) if len(rates) > 1 else 0.0
    base = mu0 * (1 - mu0)
    rho = (v * n_bar / base - 1) / (n_bar - 1) if n_bar > 1 and base > 0 else 0.1
    rho = min(max(rho, 1e-3), 0.9)
    s0 = min(max(1 / rho - 1, math.exp(_LOG_S_BOUNDS[0])), math.exp(_LOG_S_BOUNDS[1]))
    start = np.array([logit(mu0), math.log(s0)])
    bounds = [(-30.0, 30.0), _LOG_S_BOUNDS]
    best = minimize(_neg_loglik, start, args=(xs, ns), method=method, bounds=bounds, jac=True)
    for s_try in (1.0, 100.0, 1e5):  # the likelihood can be flat in s: try other starts
        alt = minimize(_neg_loglik, np.array([logit(mu0), math.log(s_try)]), args=(xs, ns),
                       method=method, bounds=bounds, jac=True)
        if alt.fun < best.fun - 1e-9:
            best = alt
    mu, s = float(expit(best.x[0])), math.exp(float(best.x[1]))
    boundary = s > _NO_SPREAD  # the likelihood is flat out there: intra-entity correlation < 1e-6
    return BetaBinomialFit(mu * s, (1 - mu) * s, -float(best.fun), len(xs), bool(best.success), bool(boundary))


def entity_reliability(fit: BetaBinomialFit, n: float) -> float:
    """Signal-to-noise reliability of one entity with denominator n: n / (n + alpha + beta)."""
    if n <= 0 or fit.boundary:
        return 0.0
    return n / (n + fit.alpha + fit.beta)


def entity_reliability_plugin(fit: BetaBinomialFit, x: int, n: int) -> float | None:
    """Adams' form with the entity's own noise, p_j(1-p_j)/n_j, where p_j is the entity's shrunken
    rate (alpha + x)/(alpha + beta + n): the raw rate makes the noise 0, and the reliability 1, for
    any entity at 0/n or n/n, e.g. every entity with n = 1. None when no noise can be estimated."""
    if n <= 0:
        return None
    p = (fit.alpha + x) / (fit.alpha + fit.beta + n)
    noise = p * (1 - p) / n
    signal = fit.between_variance
    if signal + noise == 0:
        return None
    return signal / (signal + noise)


def min_denominator(fit: BetaBinomialFit, target: float = 0.7) -> int | None:
    """The smallest n whose reliability reaches `target`: n >= target (alpha+beta) / (1 - target).
    None when no between-entity variance was found (no n suffices)."""
    if not 0 < target < 1:
        raise ValueError(f"target reliability must be in (0, 1), got {target}")
    if fit.boundary:
        return None
    return max(1, math.ceil(target * (fit.alpha + fit.beta) / (1 - target) - 1e-9))


def spearman_brown(r: float, k: float = 2.0) -> float:
    """Reliability of a test k times as long as one with reliability r: k r / (1 + (k - 1) r)."""
    return k * r / (1 + (k - 1) * r)


@dataclass(frozen=True)
class SplitHalf:
    half_correlation: float  # mean Pearson correlation between the two halves' rates
    reliability: float  # Spearman-Brown stepped up to full length
    n_entities: int
    n_splits: int


def split_once(outcomes: Mapping[str, Sequence[int]], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random split of each entity's patients into halves: the two halves' rates."""
    a, b = [], []
    for ys in outcomes.values():
        arr = np.asarray(ys, dtype=float)
        if len(arr) < 2:
            continue
        perm = rng.permutation(len(arr))
        half = len(arr) // 2
        a.append(arr[perm[:half]].mean())
        b.append(arr[perm[half:]].mean())
    return np.asarray(a), np.asarray(b)


def split_half(outcomes: Mapping[str, Sequence[int]], n_splits: int = 200, seed: int = 20090101) -> SplitHalf | None:
    """Split-half reliability: correlate random halves' rates across entities, average over
    `n_splits` splits, step up with Spearman-Brown. None with fewer than three entities of n >= 2
    or when the halves do not vary."""
    usable = {k: v for k, v in outcomes.items() if len(v) >= 2}
    if len(usable) < 3:
        return None
    rng = np.random.default_rng(seed)
    rs = []
    for _ in range(n_splits):
        a, b = split_once(usable, rng)
        if a.std() == 0 or b.std() == 0:
            continue
        rs.append(float(np.corrcoef(a, b)[0, 1]))
    if not rs:
        return None
    r = float(np.mean(rs))
    return SplitHalf(r, spearman_brown(r), len(usable), len(rs))


@dataclass(frozen=True)
class Shrunken:
    rate: float
    lower: float
    upper: float


def shrink(fit: BetaBinomialFit, x: int, n: int, level: float = 0.95) -> Shrunken:
    """Empirical-Bayes rate: the Beta(alpha + x, beta + n - x) posterior's mean and equal-tailed
    interval, pulling small entities toward the overall mean in proportion to their noise."""
    a, b = fit.alpha + x, fit.beta + n - x
    tail = (1 - level) / 2
    return Shrunken(a / (a + b), float(betaincinv(a, b, tail)), float(betaincinv(a, b, 1 - tail)))


@dataclass(frozen=True)
class ReliabilityBootstrap:
    """Percentile intervals from resampling entities with replacement (the uncertainty that matters
    when a dozen entities carry the estimate): beta-binomial reliability at a fixed n, split-half
    Spearman-Brown reliability, their paired difference, and the minimum n for the target."""

    level: float
    replicates: int
    beta_binomial: tuple[float, float] | None
    split_half: tuple[float, float] | None
    difference: tuple[float, float] | None  # split-half minus beta-binomial, paired by replicate
    min_denominator: tuple[float, float] | None  # inf where a replicate finds no between-entity variance


def _percentiles(values: list[float], level: float) -> tuple[float, float] | None:
    if len(values) < 10:
        return None
    tail = 100 * (1 - level) / 2
    arr = np.asarray(values, float)
    big = 1e15  # infinity would interpolate to nan
    lo, hi = np.percentile(np.where(np.isinf(arr), big, arr), [tail, 100 - tail])
    return (math.inf if lo >= big / 10 else float(lo)), (math.inf if hi >= big / 10 else float(hi))


def bootstrap_reliability(outcomes: Sequence[Sequence[int]], at_n: float, target: float = 0.7,
                          replicates: int = 200, splits: int = 10, seed: int = 20090101,
                          level: float = 0.95) -> ReliabilityBootstrap:
    """Resample entities (each a list of 0/1 outcomes) `replicates` times; in each, refit the
    beta-binomial (its reliability at `at_n` and minimum n for `target`) and redo split-half with
    `splits` random splits. Replicates where a method is undefined are left out of its interval."""
    rng = np.random.default_rng(seed)
    ents = [np.asarray(o, dtype=int) for o in outcomes if len(o) > 0]
    bb: list[float] = []
    sh: list[float] = []
    diff: list[float] = []
    need: list[float] = []
    for _ in range(replicates):
        draw = [ents[i] for i in rng.integers(0, len(ents), len(ents))]
        r_bb = r_sh = None
        try:
            fit = fit_beta_binomial([int(o.sum()) for o in draw], [len(o) for o in draw], method="TNC")
        except ValueError:
            fit = None
        if fit is not None:
            r_bb = entity_reliability(fit, at_n)
            bb.append(r_bb)
            m = min_denominator(fit, target)
            need.append(math.inf if m is None else float(m))
        half = split_half({str(i): list(o) for i, o in enumerate(draw)}, splits, int(rng.integers(2**31)))
        if half is not None:
            r_sh = max(0.0, half.reliability)  # a negative half correlation means no reliability, not less than none
            sh.append(r_sh)
        if r_bb is not None and r_sh is not None:
            diff.append(r_sh - r_bb)
    return ReliabilityBootstrap(level, replicates, _percentiles(bb, level), _percentiles(sh, level),
                                _percentiles(diff, level), _percentiles(need, level))
