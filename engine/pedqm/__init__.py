"""pedqm: a FHIR-native quality measurement engine for children's health care.

The CQL engine lives in :mod:`pedqm.cql`; see ARCHITECTURE.md for the pipeline.
"""

__version__ = "0.1.0"
