"""Which vaccine doses a child gets, and when: the CDC/ACIP routine schedule and its gaps.

The routine early-childhood series is all-or-not on schedule: a child who "completes" it gets every
dose at the recommended age (plus a few days); any other child follows one of four gap patterns,
each of which leaves at least one dose of the combination (DTaP, IPV, MMR, Hib, HepB, VZV, PCV,
HepA, rotavirus) missing by the second birthday. So the share of two-year-olds with the whole
routine series is the practice's ``immunization`` rate, whatever the pattern mix.
"""

from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass

YEAR = 365


@dataclass(frozen=True)
class Dose:
    age_days: int  # recommended age
    cvx: str
    series: tuple[str, ...]  # what it counts for: dtap, ipv, hib, hepb, pcv, rota, mmr, vzv, hepa, ...


# Patterns of incomplete early-childhood immunization, with their shares among incomplete children.
GAP_PATTERNS = (("late", 0.45), ("dropout", 0.25), ("refuses-live", 0.15), ("none", 0.15))
LIVE_SERIES = frozenset({"mmr", "vzv"})


def _pcv_code(birth: _dt.date, rng: random.Random) -> str:
    if birth < _dt.date(2010, 3, 1):
        return "100"  # PCV7, before PCV13 replaced it
    if birth < _dt.date(2023, 1, 1):
        return "133"
    return rng.choice(("215", "216")) if birth < _dt.date(2024, 1, 1) else "216"


def early_childhood_series(birth: _dt.date, rng: random.Random) -> list[Dose]:
    """The routine doses from birth to age 6, with the products a practice might use."""
    product = rng.choices(("pediarix", "pentacel", "separate"), (0.4, 0.35, 0.25))[0]
    doses = [Dose(0, "08", ("hepb",))]
    m2, m4, m6, m12, m15, m18, y4 = 61, 122, 183, 365, 456, 548, 4 * YEAR + 30
    hib = rng.choice(("48", "49"))
    hib_ages = [m2, m4, m6, m12] if hib == "48" else [m2, m4, m12]
    hib_doses = [Dose(a, hib, ("hib",)) for a in hib_ages]
    if product == "pediarix":  # DTaP-HepB-IPV at 2, 4, 6 months
        doses += [Dose(a, "110", ("dtap", "hepb", "ipv")) for a in (m2, m4, m6)]
        doses += [*hib_doses, Dose(m15, "20", ("dtap",))]
    elif product == "pentacel":  # DTaP-Hib-IPV at 2, 4, 6 and 15 months
        doses += [Dose(a, "120", ("dtap", "hib", "ipv")) for a in (m2, m4, m6, m15)]
        doses += [Dose(30, "08", ("hepb",)), Dose(m6, "08", ("hepb",))]
    else:
        doses += [Dose(a, "20", ("dtap",)) for a in (m2, m4, m6, m15)]
        doses += [Dose(a, "10", ("ipv",)) for a in (m2, m4, m6)]
        doses += [*hib_doses, Dose(30, "08", ("hepb",)), Dose(m6, "08", ("hepb",))]
    pcv = _pcv_code(birth, rng)
    doses += [Dose(a, pcv, ("pcv",)) for a in (m2, m4, m6, m12)]
    rota_ages = (m2, m4, m6) if rng.random() < 0.6 else (m2, m4)
    doses += [Dose(a, "116" if len(rota_ages) == 3 else "119", ("rota",)) for a in rota_ages]
    doses += [Dose(m12, "03", ("mmr",)), Dose(m12, "21", ("vzv",)), Dose(m12, "83", ("hepa",)),
              Dose(m18, "83", ("hepa",)), Dose(y4, "20", ("dtap",)), Dose(y4, "10", ("ipv",))]
    if rng.random() < 0.3:
        doses.append(Dose(y4, "94", ("mmr", "vzv")))
    else:
        doses += [Dose(y4, "03", ("mmr",)), Dose(y4, "21", ("vzv",))]
    return sorted(doses, key=lambda d: (d.age_days, d.cvx))


def apply_gap(doses: list[Dose], pattern: str, rng: random.Random) -> list[tuple[Dose, int]]:
    """The doses a child with an incomplete series gets, each with its delay in days."""
    if pattern == "none":
        return [(d, 0) for d in doses if d.age_days == 0 and rng.random() < 0.5]
    if pattern == "refuses-live":
        return [(d, 0) for d in doses if not LIVE_SERIES.intersection(d.series)]
    if pattern == "late":  # everything from the first birthday on comes 10-16 months late
        shift = rng.randint(300, 480)
        return [(d, shift if d.age_days >= 365 else 0) for d in doses]
    # dropout: stops after the 2-, 4- or 6-month visit; half catch up before school
    last = rng.choice((61, 122, 183))
    catch_up = rng.random() < 0.5
    return [(d, 0) for d in doses if d.age_days <= last or (catch_up and d.age_days >= 4 * YEAR)]


def adolescent_series(rng: random.Random, birth: _dt.date) -> list[Dose]:
    """Tdap, MenACWY and HPV at 11-12 years, HPV's second dose and the MenACWY booster at 16."""
    start = 11 * YEAR + rng.randint(0, 300)
    mening = "114" if birth < _dt.date(2010, 1, 1) else rng.choice(("136", "203"))
    doses = [Dose(start, "115", ("tdap",)), Dose(start, mening, ("mening",)), Dose(start, "165", ("hpv",))]
    if rng.random() < 0.8:
        doses.append(Dose(start + rng.randint(180, 360), "165", ("hpv",)))
    if rng.random() < 0.7:
        doses.append(Dose(16 * YEAR + rng.randint(0, 200), mening, ("mening",)))
    return doses


def influenza_code(season: int, age_days: int, rng: random.Random) -> str:
    """A CVX code for a season's influenza vaccine: quadrivalent until 2023-24, trivalent after."""
    if season >= 2024:
        return "140" if rng.random() < 0.75 else "141"
    if age_days < 3 * YEAR and rng.random() < 0.5:
        return "161"
    return rng.choices(("150", "158", "171"), (0.6, 0.2, 0.2))[0]


def routine_complete_by(doses: list[tuple[str, _dt.date]], cutoff: _dt.date) -> bool:
    """Whether CVX-coded doses given on or before ``cutoff`` complete the routine series
    (4 DTaP, 3 IPV, 1 MMR, 3 Hib, 3 HepB, 1 VZV, 4 PCV, 1 HepA, rotavirus 2 RV1 or 3 RV5)."""
    counts: dict[str, int] = {}
    for cvx, day in doses:
        if day <= cutoff:
            counts[cvx] = counts.get(cvx, 0) + 1

    def n(*codes: str) -> int:
        return sum(counts.get(c, 0) for c in codes)

    return (n("20", "106", "107", "110", "120") >= 4 and n("10", "89", "110", "120") >= 3
            and n("03", "94") >= 1 and n("17", "46", "47", "48", "49", "148", "120") >= 3
            and n("08", "44", "45", "51", "110") >= 3 and n("21", "94") >= 1
            and n("100", "133", "215", "216") >= 4 and n("83", "85") >= 1
            and (n("119") >= 2 or n("116") >= 3 or n("116", "119", "122") >= 3))
