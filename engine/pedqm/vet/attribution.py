"""Attribution for vetting: the measure layer's one attribution module (:mod:`pedqm.measure.attribution`),
re-exported so that `vet`, `evaluate --by` and `demo` attribute a child by the same rules."""

from ..measure.attribution import (
    ENCOUNTERS,
    GP,
    LISTED,
    MANAGING,
    NONE,
    AttributionError,
    Attributor,
    human_name,
    make_attributor,
    read_attribution_list,
    reference_id,
)

__all__ = ["ENCOUNTERS", "GP", "LISTED", "MANAGING", "NONE", "AttributionError", "Attributor", "human_name",
           "make_attributor", "read_attribution_list", "reference_id"]
