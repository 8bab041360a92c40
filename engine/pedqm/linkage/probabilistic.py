"""Probabilistic linkage of records that no identifier or link joins (optional: ``pip install
pedqm[linkage]``, which brings splink and DuckDB).

A Fellegi-Sunter model from splink compares given name, family name, birth date, sex, postal
code, address line and phone across sources (blocked on birth date, on family name + birth year,
and on given name + sex, so that one typo does not hide a pair). Its parameters are learned from
the data at hand, never fixed: ``u`` (agreement by chance) by random sampling, ``m`` (agreement
among true matches) from the pairs the deterministic step already linked, which are true matches
whose demographics carry the same kinds of error as the rest. A pair scoring at least
``accept`` (default 0.99) is linked; one between ``review`` (default 0.80) and ``accept`` is
written to the review file for a person to decide and is not linked. A pair whose records carry
different values under one identifier system (two member ids) is never linked, whatever its score.
"""

from __future__ import annotations

import datetime as _dt
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..fhir.records import Resource
from .deterministic import Link
from .keys import PatientKey

DEFAULT_ACCEPT = 0.99
DEFAULT_REVIEW = 0.80


class LinkageUnavailable(RuntimeError):
    """splink is not installed (it is the optional extra ``linkage``)."""


@dataclass(frozen=True)
class ProbabilisticOptions:
    accept: float = DEFAULT_ACCEPT  # link pairs at or above this match probability
    review: float = DEFAULT_REVIEW  # list pairs from here up to ``accept`` for review, unlinked
    seed: int = 1  # for the random sampling of u parameters: same data, same links

    def __post_init__(self) -> None:
        if not 0 < self.review <= self.accept <= 1:
            raise ValueError(f"thresholds must satisfy 0 < review ({self.review}) <= accept ({self.accept}) <= 1")


@dataclass(frozen=True)
class ScoredPair:
    a: PatientKey
    b: PatientKey
    probability: float
    agreement: str  # which fields agreed, for the reviewer


def _norm(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    kept = "".join(ch for ch in folded if ch.isalnum())
    return kept or None


def demographics(patient: Resource) -> dict[str, Any]:
    """The fields compared, normalised (case, accents, punctuation)."""
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = official.get("given") or []
    address = next((a for a in patient.get("address") or [] if isinstance(a, dict)), {})
    phone = next((t.get("value") for t in patient.get("telecom") or []
                  if isinstance(t, dict) and t.get("system") == "phone"), None)
    birth = patient.get("birthDate")
    try:
        birth_date = _dt.date.fromisoformat(birth).isoformat() if isinstance(birth, str) and len(birth) == 10 else None
    except ValueError:
        birth_date = None
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:] if isinstance(phone, str) else ""
    return {
        "given": _norm(given[0]) if given else None,
        "family": _norm(official.get("family")),
        "birth_date": birth_date,
        "birth_year": birth_date[:4] if birth_date else None,
        "sex": patient.get("gender") if patient.get("gender") in ("male", "female") else None,
        "postal": _norm(address.get("postalCode")),
        "line": _norm(" ".join(address.get("line") or [])),
        "phone": digits or None,
    }


def _identifier_conflict(a: Resource, b: Resource) -> bool:
    def by_system(p: Resource) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for i in p.get("identifier") or []:
            if isinstance(i, dict) and i.get("system") and i.get("value"):
                out.setdefault(i["system"], set()).add(i["value"])
        return out
    sa, sb = by_system(a), by_system(b)
    return any(sa[s].isdisjoint(sb[s]) for s in sa.keys() & sb.keys())


def score_pairs(patients: Mapping[PatientKey, Resource], known: Sequence[Link],
                options: ProbabilisticOptions) -> list[ScoredPair]:
    """Every cross-source pair the blocking rules find, with splink's match probability (at least
    ``options.review``)."""
    try:
        import pandas as pd
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:
        raise LinkageUnavailable("probabilistic linkage needs splink: pip install 'pedqm[linkage]'") from exc
    logging.getLogger("splink").setLevel(logging.WARNING)
    sources = sorted({s for s, _ in patients})
    if len(sources) < 2:
        return []
    rows = {s: [] for s in sources}  # type: dict[str, list[dict[str, Any]]]
    ids: dict[str, PatientKey] = {}
    for n, (key, patient) in enumerate(patients.items()):
        uid = f"r{n}"
        ids[uid] = key
        rows[key[0]].append({"unique_id": uid, **demographics(patient)})
    db = DuckDBAPI()
    frames = [db.register(pd.DataFrame(rows[s]).astype(object), table_name=f"src_{i}") for i, s in enumerate(sources)]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given"),
            cl.NameComparison("family"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("postal"),
            cl.LevenshteinAtThresholds("line", [2]),
            cl.LevenshteinAtThresholds("phone", [1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("birth_date"), block_on("family", "birth_year"), block_on("given", "sex"), block_on("phone"),
        ],
        retain_matching_columns=True,
    )
    linker = Linker(frames, settings, log_level=None)
    uid_of = {key: uid for uid, key in ids.items()}
    table = {f"src_{i}": s for i, s in enumerate(sources)}
    source_table = {s: t for t, s in table.items()}
    labels = [{"source_dataset_l": source_table[link.a[0]], "unique_id_l": uid_of[link.a],
               "source_dataset_r": source_table[link.b[0]], "unique_id_r": uid_of[link.b]}
              for link in known if link.a[0] != link.b[0]]
    linker.training.estimate_u_using_random_sampling(max_pairs=2e5, seed=options.seed)
    if labels:
        labelled = db.register(pd.DataFrame(labels), table_name="known_links")
        linker.training.estimate_m_from_pairwise_labels(labelled)
        pairs_possible = sum(len(rows[a]) * len(rows[b]) for i, a in enumerate(sources) for b in sources[i + 1:])
        # prior: the deterministic links found at least this share of all cross-source pairs
        prior = min(0.5, max(1e-6, 1.25 * len(labels) / max(pairs_possible, 1)))
        linker._settings_obj._probability_two_random_records_match = prior  # noqa: SLF001 - splink has no setter
    else:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    predictions = linker.inference.predict(threshold_match_probability=options.review, warning_mode="never").as_pandas_dataframe()
    out: list[ScoredPair] = []
    fields = ("given", "family", "birth_date", "sex", "postal", "line", "phone")
    for row in predictions.itertuples(index=False):
        a, b = ids[row.unique_id_l], ids[row.unique_id_r]
        agree = [f for f in fields if getattr(row, f"{f}_l", None) is not None
                 and getattr(row, f"{f}_l") == getattr(row, f"{f}_r", None)]
        out.append(ScoredPair(a, b, float(row.match_probability), ",".join(agree)))
    out.sort(key=lambda p: (-p.probability, p.a, p.b))
    return out


def probabilistic_links(patients: Mapping[PatientKey, Resource], known: Sequence[Link], same_child: Any,
                        options: ProbabilisticOptions) -> tuple[list[Link], list[ScoredPair]]:
    """(links accepted, pairs to review). ``same_child(a, b)`` says whether the deterministic
    step already joined two records (those pairs are neither linked again nor reviewed)."""
    accepted: list[Link] = []
    review: list[ScoredPair] = []
    for pair in score_pairs(patients, known, options):
        if same_child(pair.a, pair.b):
            continue
        conflict = _identifier_conflict(patients[pair.a], patients[pair.b])
        if pair.probability >= options.accept and not conflict:
            accepted.append(Link(pair.a, pair.b, "probabilistic", f"match probability {pair.probability:.4f} "
                                 f"(agree: {pair.agreement})", pair.probability))
        else:
            review.append(pair if not conflict else ScoredPair(pair.a, pair.b, pair.probability,
                                                               pair.agreement + "; different identifier values"))
    return accepted, review
