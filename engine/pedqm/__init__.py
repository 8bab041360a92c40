"""pedqm: a FHIR-native quality measurement engine for children's health care.

The CQL engine lives in :mod:`pedqm.cql`; see ARCHITECTURE.md for the pipeline.
"""

__version__ = "0.1.0"

from .composition import install_defaults as _install_defaults

_install_defaults()
