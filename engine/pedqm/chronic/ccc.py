"""Feudtner's pediatric Complex Chronic Conditions, v2 (2014) and v3 (2024).

v2 (Feudtner et al., BMC Pediatrics 2014): every listed code flags its category; technology and
transplant codes also set ``tech_dep`` / ``transplant``.

v3 (Feinstein et al., JAMA Netw Open 2024): a technology-dependence code counts only when the
patient also has a non-technology CCC code in some category (any category, "misc" included);
transplant codes always count. Per category the result splits into ``dxpr_only`` (diagnosis or
procedure codes, no counted technology code), ``tech_only``, ``dxpr_and_tech`` and
``dxpr_or_tech``; the plain category column equals ``dxpr_or_tech``.

Both: ``num_ccc`` counts the ten categories; ``ccc_flag`` is set by any category, ``tech_dep``
or ``transplant``. Codes of no organ system (category "misc": e.g. Z94.0 in v2, other device
codes) are not a column; they set ``tech_dep`` / ``transplant`` and, in v3, can supply the
non-technology code a technology code needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from .codelists import CccEntry, ccc_labels, ccc_table
from .codes import CodeOccurrence
from .explain import Explanation, evidence_for
from .result import Classification

CATEGORIES = ("neuromusc", "cvd", "respiratory", "renal", "gi", "hemato_immu", "metabolic",
              "congeni_genetic", "malignancy", "neonatal")
VARIANTS = ("dxpr_only", "tech_only", "dxpr_and_tech", "dxpr_or_tech")
SUMMARY_COLUMNS = ("tech_dep", "transplant", "num_ccc", "ccc_flag")
V2_COLUMNS = (*CATEGORIES, *SUMMARY_COLUMNS)
V3_COLUMNS = (*V2_COLUMNS, *(f"{c}_{v}" for c in CATEGORIES for v in VARIANTS))

Hits = dict[str, list[tuple[CodeOccurrence, str]]]


def columns(version: str) -> tuple[str, ...]:
    return V3_COLUMNS if version.startswith("3") else V2_COLUMNS


def _meaning(e: CccEntry) -> str:
    tags = [t for t, on in (("technology dependence", e.tech_dep), ("transplant", e.transplant)) if on]
    return f"{e.condition} / {e.subcondition}" + (f" ({', '.join(tags)})" if tags else "")


def _add(hits: Hits, key: str, occ: CodeOccurrence, e: CccEntry) -> None:
    hits.setdefault(key, []).append((occ, _meaning(e)))


def _matches(occurrences: Sequence[CodeOccurrence], version: str) -> list[tuple[CodeOccurrence, CccEntry]]:
    table = ccc_table(version)
    return [(occ, e) for occ in occurrences for e in table.get(occ.key, ())]


def classify_ccc(occurrences: Sequence[CodeOccurrence], version: str = "2.0") -> Classification:
    """CCC flags for one patient's (already windowed) code occurrences."""
    matches = _matches(occurrences, version)
    result = _v3(matches, version) if version.startswith("3") else _v2(matches, version)
    if not occurrences:
        result.explanations = [Explanation("ccc_flag", 0, "no ICD-coded data")]
    return result


def _summary(flags: dict[str, int | str], explanations: list[Explanation], version: str, matched: bool,
             transplant: Hits) -> None:
    flagged = [c for c in CATEGORIES if flags[c]]
    flags["transplant"] = int(bool(transplant))
    if transplant:
        explanations.append(Explanation("transplant", 1, "a transplant code on the CCC list (transplant codes always count)",
                                        evidence_for(transplant["transplant"])))
    flags["num_ccc"] = len(flagged)
    if flagged:
        explanations.append(Explanation("num_ccc", len(flagged), "categories flagged: " + ", ".join(flagged)))
    setters = flagged + [f for f in ("tech_dep", "transplant") if flags[f]]
    flags["ccc_flag"] = int(bool(setters))
    if setters:
        explanations.append(Explanation("ccc_flag", 1, "set by " + ", ".join(setters)))
    elif not matched:
        explanations.append(Explanation("ccc_flag", 0, f"no code on the CCC v{version} list"))
    else:
        explanations.append(Explanation("ccc_flag", 0, "only technology-dependence codes, which do not count on their own"))


def _v2(matches: list[tuple[CodeOccurrence, CccEntry]], version: str) -> Classification:
    cats: Hits = {}
    tech: Hits = {}
    transplant: Hits = {}
    for occ, e in matches:
        _add(cats, e.condition, occ, e)
        if e.tech_dep:
            _add(tech, "tech_dep", occ, e)
        if e.transplant:
            _add(transplant, "transplant", occ, e)
    flags: dict[str, int | str] = {}
    explanations: list[Explanation] = []
    for c in CATEGORIES:
        flags[c] = int(c in cats)
        if c in cats:
            explanations.append(Explanation(c, 1, f"a {ccc_labels().get(c, c)} code on the CCC v{version} list",
                                            evidence_for(cats[c])))
    flags["tech_dep"] = int(bool(tech))
    if tech:
        explanations.append(Explanation("tech_dep", 1, f"a technology-dependence code (CCC v{version}: counts on its own)",
                                        evidence_for(tech["tech_dep"])))
    _summary(flags, explanations, version, bool(matches), transplant)
    return Classification(flags, explanations, {}, {"misc": int("misc" in cats)})


def _v3(matches: list[tuple[CodeOccurrence, CccEntry]], version: str) -> Classification:
    dxpr: Hits = {}  # non-technology codes (transplant codes included), by category
    always_tech: Hits = {}  # technology codes that are also transplant codes: always count
    tech: Hits = {}  # technology codes: count only beside a non-technology code
    transplant: Hits = {}
    for occ, e in matches:
        if e.transplant:
            _add(transplant, "transplant", occ, e)
        if not e.tech_dep:
            _add(dxpr, e.condition, occ, e)
        elif e.transplant:
            _add(always_tech, e.condition, occ, e)
        else:
            _add(tech, e.condition, occ, e)
    companions = sorted(set(dxpr) | set(always_tech))
    counted: Hits = {c: list(always_tech.get(c, [])) + (tech.get(c, []) if companions else [])
                     for c in set(always_tech) | set(tech)}
    counted = {c: v for c, v in counted.items() if v}

    flags: dict[str, int | str] = {}
    explanations: list[Explanation] = []
    variants: dict[str, int] = {}
    details: dict[str, int] = {}
    because = (f"counted because the patient has a non-technology CCC code ({', '.join(sorted(dxpr))})" if dxpr
               else "counted because it is also a transplant code (transplant codes always count)")
    for c in (*CATEGORIES, "misc"):
        has_dx, has_tech = c in dxpr, c in counted
        split = {"dxpr_only": has_dx and not has_tech, "tech_only": has_tech and not has_dx,
                 "dxpr_and_tech": has_dx and has_tech, "dxpr_or_tech": has_dx or has_tech}
        if c == "misc":  # not an output column: kept for completeness (and medicalcoder comparisons)
            details.update({f"misc_{v}": int(on) for v, on in split.items()})
            continue
        variants.update({f"{c}_{v}": int(on) for v, on in split.items()})
        flags[c] = int(has_dx or has_tech)
        if not (has_dx or has_tech):
            continue
        ev = evidence_for(dxpr.get(c, []) + counted.get(c, []))
        if has_dx and has_tech:
            which, rule = "dxpr_and_tech", f"diagnosis/procedure and technology codes of this category; technology {because}"
        elif has_dx:
            which, rule = "dxpr_only", "diagnosis/procedure code(s) of this category, no counted technology code"
        else:
            which, rule = "tech_only", f"technology-dependence code(s) of this category only, {because}"
        explanations.append(Explanation(c, 1, f"CCC v{version} {ccc_labels().get(c, c)} ({which})", ev))
        explanations.append(Explanation(f"{c}_{which}", 1, rule, ev))
        explanations.append(Explanation(f"{c}_dxpr_or_tech", 1, "diagnosis/procedure or counted technology code", ev))

    flags["tech_dep"] = int(bool(counted))
    if counted:
        explanations.append(Explanation("tech_dep", 1, f"a technology-dependence code, {because}",
                                        evidence_for([p for v in counted.values() for p in v])))
    elif tech:
        explanations.append(Explanation(
            "tech_dep", 0,
            f"technology-dependence code(s) not counted: CCC v{version} counts them only when the patient also has "
            "a non-technology CCC code, and this patient has none", evidence_for([p for v in tech.values() for p in v])))
    _summary(flags, explanations, version, bool(matches), transplant)
    flags.update(variants)
    return Classification(flags, explanations, {}, details)
