"""Measure results as a pandas DataFrame: one row per subject, or per episode when a group is
episode-based, with a boolean column per population per group and one column per stratifier.

The column set is the same whether or not some patient errored: every row has an `error` column
(empty when the patient was evaluated), and an errored patient's population columns are empty
(unknown), never false. As CSV, booleans are written `true`/`false`, as FHIR, JSON and most
statistics tools read them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .results import MeasureResult


def _column(gi: int, n_groups: int, code: str) -> str:
    return code if n_groups == 1 else f"g{gi + 1}:{code}"


def to_dataframe(result: MeasureResult) -> pd.DataFrame:
    import pandas as pd

    if not result.keep_subjects:
        raise ValueError("a per-subject DataFrame needs per-subject results: evaluate with keep_subjects=True")
    defn = result.definition
    n = len(defn.groups)
    episode = any(g.episode_based for g in defn.groups)
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = {"subject_id": None}
    if episode:
        columns["episode"] = None
    for gi, group in enumerate(defn.groups):
        for code in result.population_codes(gi):
            if code != "measure-observation":
                columns[_column(gi, n, code)] = None
        for strat in (s.label for s in group.stratifiers):
            columns[_column(gi, n, f"stratum:{strat}")] = None
    for r in result.subject_results:
        if r.error:
            rows.append({"subject_id": r.subject_id, "error": r.error})
            continue
        keys: list[str | None] = [None]
        if episode:
            found: dict[str, None] = {}
            for outcome in r.groups:
                for members in outcome.members.values():
                    for m in members:
                        if m != r.subject_id:
                            found[m] = None
            keys = list(found) or [None]
        for key in keys:
            row: dict[str, Any] = {"subject_id": r.subject_id}
            if episode:
                row["episode"] = key
            for gi, outcome in enumerate(r.groups):
                member = key if defn.groups[gi].episode_based else r.subject_id
                for code in result.population_codes(gi):
                    if code == "measure-observation":
                        continue
                    row[_column(gi, n, code)] = member in outcome.members.get(code, [])
                for strat, values in outcome.strata.items():
                    label = next((v for v, ms in values.items() if member in ms), None)
                    row[_column(gi, n, f"stratum:{strat}")] = label
            row["error"] = None
            rows.append(row)
    for row in rows:
        for c in row:
            columns.setdefault(c, None)
    columns.pop("error", None)
    columns["error"] = None
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame


def to_csv(result: MeasureResult) -> str:
    """The per-subject table as CSV: booleans `true`/`false`, an empty cell for unknown."""
    frame = to_dataframe(result)
    out = frame.astype(object).map(lambda v: "true" if v is True else "false" if v is False else v)
    return str(out.to_csv(index=False))
