"""SNOMED CT -> ICD-10-CM for children whose problems are coded only in SNOMED CT.

The classifiers (CCC, PMCA, CCIR) are defined on ICD codes, while many FHIR servers (and every
Synthea record) code problems in SNOMED CT. The one published map, NLM's SNOMED CT to ICD-10-CM
Map (a rule-based extended map refset in the SNOMED CT US Edition), is licensed under the UMLS
Metathesaurus / SNOMED CT Affiliate terms and may not be redistributed in this Apache-2.0
repository, so pedqm ships none. A user who holds a UMLS licence passes the release file
(`der2_iisssccRefset_ExtendedMapSnapshot_US*.txt`, or its "human readable" TSV) with
`--snomed-map FILE`; a locally curated two-column CSV (`snomed,icd10cm`) works too.

Rules are read as the map's documentation defines them: within each map group the rules are
tried in priority order and the first that holds gives the group's target (an empty target:
the group gives none); `TRUE` and `OTHERWISE TRUE` always hold; `IFA 445518008 | Age at onset
of clinical finding | < 18.0 years` compares the age at onset; `IFA 248152002 | Female |` /
`248153007 | Male |` the patient's sex; `IFA <concept>` whether the patient also has that
SNOMED CT concept among their conditions. A rule that cannot be decided (no onset date) does not
hold, and that is counted, never guessed.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

AGE_AT_ONSET = "445518008"
FEMALE, MALE = "248152002", "248153007"
_AGE_RULE = re.compile(r"(<=|>=|<|>|=)\s*([\d.]+)\s*(years?|months?|days?)", re.I)


class SnomedMapError(ValueError):
    """A map file that cannot be read (names the file and line)."""


@dataclass(frozen=True)
class MapRule:
    group: int
    priority: int
    rule: str  # "TRUE", "OTHERWISE TRUE", "IFA 445518008 | ... | < 18.0 years", ...
    target: str  # ICD-10-CM code as written ("E11.9"), "" for no target


@dataclass
class Patient:
    """What the rules may ask about the child."""

    sex: str | None = None  # "female" / "male" (FHIR Patient.gender)
    snomed_codes: frozenset[str] = frozenset()


@dataclass
class SnomedIcdMap:
    source: str
    rules: dict[str, list[MapRule]] = field(default_factory=dict)  # SNOMED concept -> rules
    undecided: int = 0  # rules that could not be evaluated (e.g. no onset date)

    def targets(self, concept: str, patient: Patient, age_years: float | None) -> list[str]:
        """The ICD-10-CM codes `concept` maps to for this child (one per map group at most)."""
        by_group: dict[int, list[MapRule]] = defaultdict(list)
        for r in self.rules.get(concept, []):
            by_group[r.group].append(r)
        out: list[str] = []
        for group in sorted(by_group):
            for r in sorted(by_group[group], key=lambda x: x.priority):
                if self._holds(r.rule, patient, age_years):
                    if r.target and r.target not in out:
                        out.append(r.target)
                    break
        return out

    def _holds(self, rule: str, patient: Patient, age_years: float | None) -> bool:
        text = rule.strip().upper()
        if text in ("TRUE", "OTHERWISE TRUE", ""):
            return True
        if not text.startswith("IFA "):
            self.undecided += 1
            return False
        concept = text[4:].split("|", 1)[0].strip()
        if concept == AGE_AT_ONSET:
            m = _AGE_RULE.search(rule.split("|")[-1])
            if m is None or age_years is None:
                self.undecided += 1
                return False
            op, number, unit = m.group(1), float(m.group(2)), m.group(3).lower()
            limit = number / 12 if unit.startswith("month") else number / 365.25 if unit.startswith("day") else number
            return {"<": age_years < limit, "<=": age_years <= limit, ">": age_years > limit,
                    ">=": age_years >= limit, "=": age_years == limit}[op]
        if concept in (FEMALE, MALE):
            if patient.sex is None:
                self.undecided += 1
                return False
            return patient.sex == ("female" if concept == FEMALE else "male")
        return concept in patient.snomed_codes

    @classmethod
    def load(cls, path: str | Path) -> SnomedIcdMap:
        """Read an NLM extended map release file (tab-separated, with `referencedComponentId`,
        `mapGroup`, `mapPriority`, `mapRule`, `mapTarget` and `active` columns) or a two-column
        CSV (`snomed,icd10cm`, a header row optional)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise SnomedMapError(f"{p}: {exc.strerror or exc}") from exc
        lines = text.splitlines()
        if not lines:
            raise SnomedMapError(f"{p}: empty file")
        out = cls(source=str(p))
        head = lines[0].split("\t")
        if "referencedComponentId" in head and "mapTarget" in head:
            col = {name: i for i, name in enumerate(head)}
            for n, line in enumerate(lines[1:], start=2):
                cells = line.split("\t")
                if len(cells) < len(head):
                    raise SnomedMapError(f"{p}, line {n}: {len(cells)} columns, the header has {len(head)}")
                if "active" in col and cells[col["active"]] != "1":
                    continue
                try:
                    rule = MapRule(int(cells[col["mapGroup"]]), int(cells[col["mapPriority"]]),
                                   cells[col["mapRule"]], cells[col["mapTarget"]].strip())
                except (KeyError, ValueError) as exc:
                    raise SnomedMapError(f"{p}, line {n}: {exc}") from exc
                out.rules.setdefault(cells[col["referencedComponentId"]].strip(), []).append(rule)
            return out
        reader = csv.reader(lines)
        for n, row in enumerate(reader, start=1):
            if not row or row[0].strip().startswith("#"):
                continue
            if len(row) < 2:
                raise SnomedMapError(f"{p}, line {n}: expected two columns (snomed, icd10cm)")
            snomed, icd = row[0].strip(), row[1].strip()
            if n == 1 and not snomed.isdigit():
                continue  # header row
            if not snomed.isdigit():
                raise SnomedMapError(f"{p}, line {n}: {snomed!r} is not a SNOMED CT concept id")
            groups = out.rules.setdefault(snomed, [])
            groups.append(MapRule(len(groups) + 1, 1, "TRUE", icd))
        return out
