"""FHIR R4 data for pedqm: where resources come from (files, servers, Bulk exports), how they are
grouped per patient, and how CQL sees them (model info, retrieves, terminology).

Pipeline position: data sources feed :class:`~pedqm.fhir.records.PatientRecord` objects, one per
patient, to the CQL engine's retrieve (the `DataProvider` protocol of :mod:`pedqm.cql.context`).
"""
