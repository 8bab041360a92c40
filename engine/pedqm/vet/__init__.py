"""Measure vetting for authors: can the measure tell practices apart with their sample sizes
(reliability), is there variation worth paying for, is it fair to practices with sicker children
(risk adjustment) and does it show care for children with chronic conditions (strata).

    from pedqm.vet import vet_measure
    result = vet_measure("measure-bundle.json", "data/", by="practice")
    Path("report.html").write_text(result.to_html()); result.to_json()

Pipeline: one pass of the measure calculator over the data (:mod:`.collect`, with attribution
and patient features) -> per-group statistics (:mod:`.analysis` over :mod:`.intervals`,
:mod:`.reliability`, :mod:`.variation`, :mod:`.strata`, :mod:`.risk`) and data diagnostics
(:mod:`.diagnostics`) -> JSON and a self-contained HTML report (:mod:`.report_html`).
"""

from __future__ import annotations

from .api import VetResult, vet_measure

__all__ = ["VetResult", "vet_measure"]
