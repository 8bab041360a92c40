"""FHIR data on disk: a directory (searched recursively) or one file of JSON or NDJSON.

Accepted: ``.json`` files holding a Bundle of any type or a single resource, and ``.ndjson``
files in the Bulk Data layout (one resource per line, usually one file per type), each optionally
gzipped (``.json.gz``, ``.ndjson.gz``); ``.jsonl``, and NDJSON saved as ``.json``, are read as NDJSON. Hidden files and folders
(``.name``) and other suffixes are ignored.

Which patient a resource belongs to: by default the FHIR Patient compartment
(:mod:`.compartment`), as servers group it. With ``bundle_per_patient=True`` (data laid out as one
Bundle per patient, as test-case exports and fqm-execution's patient bundles are), every resource of
a Bundle, or of an NDJSON line holding a Bundle, belongs to the Bundle's one Patient whatever its
references say; a Bundle with no Patient or several is reported and grouped by compartment. Either
way a patient exists only where a Patient resource does: resources that refer to a Patient not in
the data are skipped and reported, one issue per missing Patient, never evaluated as a phantom.

Two Patient resources with the same id are one patient. When their content differs (``meta``
aside) an issue names both files and says which is used: the one read later (files in sorted path
order, lines and entries in order), the same rule as for every other resource read twice.

Memory stays bounded by one patient (plus 8 bytes of index per resource), not the data set. A
first pass checks every resource once and remembers, per patient, only where its resources are
(a byte offset in an NDJSON file, or a position in a Bundle holding one patient); resources of
no patient (Organizations, Medications, ...) are kept, since :meth:`FileSource.shared_resources`
returns them all anyway. The second pass reads one patient at a time. A Bundle holding several
patients is copied to a scratch NDJSON file in the first pass, so that reading any patient never
means re-parsing a large Bundle; gzipped NDJSON is decompressed there too, because gzip cannot
seek.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
import weakref
import zlib
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import ijson

from ..records import PatientRecord, Resource, ResourceIssue
from .bundles import (
    Entry,
    FullUrlMap,
    flatten,
    is_bundle,
    make_resolver,
    rewrite_references,
    unresolved_urns,
)
from .checks import (
    DUPLICATE_PATIENT,
    INVALID_JSON,
    NO_PATIENT,
    NOT_ONE_PATIENT,
    UNREADABLE_FILE,
    UNRESOLVED_REFERENCE,
    check_resource,
    issue,
)
from .compartment import PATIENT_COMPARTMENT, compartment_patients
from .errors import DataSourceError

JSON_SUFFIXES = (".json", ".json.gz")
NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")

_SHIFT = 40  # a locator packs (file number << 40) | position into one int
_MASK = (1 << _SHIFT) - 1
_BUNDLE_CACHE = 2  # parsed one-patient Bundles kept for the second pass
_OPEN_FILES = 32
# A .json file larger than this is read entry by entry (ijson) instead of parsed whole: a parsed
# Bundle takes about 8 times its size in memory (a 232 MB Bundle took 1.8 GB).
STREAM_BYTES = 64 << 20
_LISTED = 10  # resource ids named in one orphan issue


@dataclass
class _File:
    path: Path  # as found, for messages
    read_path: Path  # what the second pass reads (a scratch copy for gzip and multi-patient Bundles)
    kind: str  # "ndjson" (byte offsets), "bundle" (entry positions) or "single" (one resource)


def data_files(root: Path) -> list[Path]:
    """The JSON and NDJSON files under ``root`` (or ``root`` itself), in a stable order."""
    if root.is_file():
        if not root.name.lower().endswith(JSON_SUFFIXES + NDJSON_SUFFIXES):
            raise DataSourceError(f"{root}: expected a .json or .ndjson file (FHIR JSON; XML is not read)", url=str(root))
        return [root]
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.name.lower().endswith(JSON_SUFFIXES + NDJSON_SUFFIXES):
            found.append(path)
    return found


def _is_ndjson(path: Path) -> bool:
    return path.name.lower().endswith(NDJSON_SUFFIXES)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


class FileSource:
    """Patients from a directory or file of FHIR JSON / NDJSON (see the module docstring)."""

    def __init__(
        self, path: str | Path, *, check_elements: bool = True, allow_empty: bool = False, bundle_per_patient: bool = False,
        stream_bytes: int = STREAM_BYTES,
    ) -> None:
        self.root = Path(path)
        if not self.root.exists():
            raise DataSourceError(f"no such file or directory: {self.root}", url=str(self.root))
        self.description = str(self.root)
        self.issues: list[ResourceIssue] = []
        self._check_elements = check_elements
        self._allow_empty = allow_empty  # an empty folder is no error (a Bulk export may have no output)
        self._bundle_per_patient = bundle_per_patient
        self._stream_bytes = stream_bytes  # JSON files larger than this are streamed
        self._files: list[_File] = []
        self._locators: dict[str, array[int]] = {}
        self._with_patient: dict[str, int] = {}  # patient id -> its last Patient resource's locator, in file order
        self._duplicates: list[tuple[str, int, int]] = []  # (patient id, earlier locator, later locator)
        self._spill_origins: list[tuple[int, Path]] = []  # (offset in the spill file, the file it came from)
        self.files_seen: list[Path] = []  # every data file found, for messages about what the data held
        self.types_seen: Counter[str] = Counter()  # resources read (and checked) per type
        self._shared: dict[tuple[str, str], Resource] = {}
        self._scratch: Path | None = None
        self._spill: IO[bytes] | None = None
        self._spill_no = -1
        self._indexed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # ---------------------------------------------------------------- the protocol

    def patients(self) -> Iterator[PatientRecord]:
        """Each patient's record, in the order their Patient resources were found."""
        self._index()
        reader = _Reader(self._files)
        try:
            for pid in self.patient_ids():
                yield self._record(pid, reader)
        finally:
            reader.close()

    def patient(self, patient_id: str) -> PatientRecord | None:
        """One patient's record, read by its index (None when the data has no such Patient):
        a server evaluating one subject should not read every patient to find it."""
        self._index()
        if patient_id not in self._with_patient:
            return None
        reader = _Reader(self._files)
        try:
            return self._record(patient_id, reader)
        finally:
            reader.close()

    def _record(self, pid: str, reader: _Reader) -> PatientRecord:
        by_key: dict[tuple[str, str], Resource] = {}
        for packed in self._locators[pid]:
            resource = reader.load(packed)
            by_key[(resource["resourceType"], resource["id"])] = resource
        patient = by_key.pop(("Patient", pid), None)
        resources = ([patient] if patient is not None else []) + list(by_key.values())
        return PatientRecord(pid, resources)

    def shared_resources(self) -> list[Resource]:
        """Resources in no patient's compartment, one per type and id (the last one read wins)."""
        self._index()
        return list(self._shared.values())

    # ---------------------------------------------------------------- extras

    def patient_ids(self) -> list[str]:
        """Every patient id (a Patient resource's), in the order :meth:`patients` yields them."""
        self._index()
        return list(self._with_patient)

    def close(self) -> None:
        """Remove the scratch files (also done when the source is garbage-collected)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- first pass

    def _index(self) -> None:
        if self._indexed:
            return
        files = self.files_seen = data_files(self.root)
        if not files and not self._allow_empty:
            raise DataSourceError(
                f"no FHIR data in {self.root}: expected .json (Bundle or resource) or .ndjson files",
                url=str(self.root),
            )
        for path in files:
            try:
                if _is_ndjson(path):
                    self._index_ndjson(path)
                else:
                    self._index_json(path)
            except (OSError, EOFError, zlib.error) as exc:
                self.issues.append(issue(str(path), None, UNREADABLE_FILE, f"{type(exc).__name__}: {exc}"))
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._drop_orphans()
        self._report_duplicates()
        self._indexed = True

    def _drop_orphans(self) -> None:
        """Skip resources whose patient references name no Patient in the data, one issue per
        missing Patient: a subject exists only where its Patient does (no phantom subjects)."""
        missing = [pid for pid in self._locators if pid not in self._with_patient]
        if not missing:
            return
        orphan_locs = {packed for pid in missing for packed in self._locators[pid]}
        owned = {packed for pid in self._with_patient for packed in self._locators[pid] if packed in orphan_locs}
        reader = _Reader(self._files)
        try:
            for pid in missing:
                keys: dict[str, None] = {}
                for packed in self._locators.pop(pid):
                    if packed not in owned:  # also in a real patient's compartment: kept there
                        resource = reader.load(packed)
                        keys[f"{resource['resourceType']}/{resource['id']}"] = None
                if not keys:
                    continue
                listed = ", ".join(list(keys)[:_LISTED]) + (f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")
                detail = f"{len(keys)} resource(s) refer to Patient/{pid}, which is not in the data; skipped: {listed}"
                self.issues.append(issue(self.description, {"resourceType": "Patient", "id": pid}, NO_PATIENT, detail,
                                         count=len(keys)))
        finally:
            reader.close()

    def _origin(self, packed: int) -> Path:
        """The file a resource was read from (a multi-patient Bundle's, not its scratch copy)."""
        file_no, position = packed >> _SHIFT, packed & _MASK
        if file_no == self._spill_no and self._spill_origins:
            i = bisect_right(self._spill_origins, position, key=lambda o: o[0]) - 1
            return self._spill_origins[max(i, 0)][1]
        return self._files[file_no].path

    def _report_duplicates(self) -> None:
        """One issue per Patient id read again with different content, naming both files."""
        if not self._duplicates:
            return
        reader = _Reader(self._files)
        try:
            for pid, first, later in self._duplicates:
                a, b = reader.load(first), reader.load(later)
                if {k: v for k, v in a.items() if k != "meta"} == {k: v for k, v in b.items() if k != "meta"}:
                    continue
                there, here = self._origin(first), self._origin(later)
                where = str(there) if there == here else f"{there} and {here}"
                detail = (f"Patient/{pid} appears twice with different content, in {where}; "
                          f"the one read later (in {here}) is used")
                self.issues.append(issue(str(here), b, DUPLICATE_PATIENT, detail))
        finally:
            reader.close()

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="pedqm-files-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._scratch, True)
        return self._scratch

    def _add_file(self, path: Path, read_path: Path, kind: str) -> int:
        self._files.append(_File(path, read_path, kind))
        if len(self._files) > 1 << (63 - _SHIFT):
            raise DataSourceError(f"too many files under {self.root}", url=str(self.root))
        return len(self._files) - 1

    def _place(self, resource: Resource, pids: list[str], file_no: int, position: int) -> None:
        packed = (file_no << _SHIFT) | position
        for pid in pids:
            locs = self._locators.get(pid)
            if locs is None:
                locs = self._locators[pid] = array("q")
            locs.append(packed)
        if resource["resourceType"] == "Patient":
            previous = self._with_patient.get(resource["id"])
            if previous is not None and previous != packed:
                self._duplicates.append((resource["id"], previous, packed))
            self._with_patient[resource["id"]] = packed  # a dict keeps the first one's place in the order

    def _checked(self, resource: Any, location: str) -> bool:
        found = check_resource(resource, location, elements=self._check_elements)
        if found is not None:
            self.issues.append(found)
            return False
        self.types_seen[resource["resourceType"]] += 1
        return True

    def _index_ndjson(self, path: Path) -> None:
        read_path = path
        failure: BaseException | None = None
        if path.name.lower().endswith(".gz"):
            read_path = self._scratch_dir() / f"{len(self._files)}-{path.name[:-3]}"
            with gzip.open(path, "rb") as src, read_path.open("wb") as dst:
                try:  # read1: small steps, so a truncated file still yields all it has
                    while chunk := src.read1(1 << 16):
                        dst.write(chunk)
                except (OSError, EOFError, zlib.error) as exc:
                    failure = exc
        file_no = self._add_file(path, read_path, "ndjson")
        with read_path.open("rb") as f:
            offset = 0
            for line_no, line in enumerate(f, 1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                location = f"{path}:{line_no}"
                try:
                    resource = json.loads(line)
                except json.JSONDecodeError as exc:
                    self.issues.append(issue(location, None, INVALID_JSON, f"{exc.msg} at column {exc.colno}"))
                    continue
                except ValueError as exc:  # not UTF-8
                    self.issues.append(issue(location, None, INVALID_JSON, str(exc)))
                    continue
                if is_bundle(resource):
                    self._index_bundle(resource, path, location, in_place=False)
                    continue
                if not self._checked(resource, location):
                    continue
                pids = compartment_patients(resource)
                if pids:
                    self._place(resource, pids, file_no, start)
                else:
                    self._shared[(resource["resourceType"], resource["id"])] = resource
        if failure is not None:
            raise failure

    def _index_json(self, path: Path) -> None:
        if path.stat().st_size > self._stream_bytes and self._index_json_streamed(path):
            return
        try:
            with _open_binary(path) as f:
                document = json.load(f)
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data" and exc.lineno > 1:  # NDJSON saved as .json: read it as such
                self._index_ndjson(path)
                return
            self.issues.append(issue(f"{path}:{exc.lineno}", None, INVALID_JSON, exc.msg))
            return
        except UnicodeDecodeError as exc:
            self.issues.append(issue(str(path), None, INVALID_JSON, str(exc)))
            return
        if not is_bundle(document):
            if self._checked(document, str(path)):
                pids = compartment_patients(document)
                if pids:
                    self._place(document, pids, self._add_file(path, path, "single"), 0)
                else:
                    self._shared[(document["resourceType"], document["id"])] = document
            return
        self._index_bundle(document, path, str(path), in_place=True)

    def _index_bundle(self, document: dict[str, Any], path: Path, where: str, *, in_place: bool) -> None:
        """A Bundle's entries, placed by patient; ``in_place``: it is the whole file ``path``, so a
        one-patient Bundle is re-read from there by entry position instead of copied."""
        checked: list[tuple[int, Entry, str]] = []
        for position, entry in enumerate(flatten(document)):
            location = f"{where} (entry {entry.label})"
            if self._checked(entry.resource, location):
                checked.append((position, entry, location))
        owner = self._bundle_owner([entry.resource for _, entry, _ in checked], where) if self._bundle_per_patient else None
        kept: list[tuple[int, Entry, list[str]]] = []
        patients: set[str] = set()
        for position, entry, location in checked:
            pids = [owner] if owner is not None else compartment_patients(entry.resource, make_resolver(entry.full_urls))
            if not pids:
                self._note_unresolved(entry, location)
                rewrite_references(entry.resource, entry.full_urls)
                self._shared[(entry.resource["resourceType"], entry.resource["id"])] = entry.resource
                continue
            kept.append((position, entry, pids))
            patients.update(pids)
        if not kept:
            return
        if len(patients) == 1 and in_place:
            file_no = self._add_file(path, path, "bundle")
            for position, entry, pids in kept:
                self._place(entry.resource, pids, file_no, position)
            return
        spill, file_no = self._spill_file()
        self._spill_origins.append((spill.tell(), path))
        for _, entry, pids in kept:
            rewrite_references(entry.resource, entry.full_urls)
            offset = spill.tell()
            spill.write(json.dumps(entry.resource, separators=(",", ":")).encode() + b"\n")
            self._place(entry.resource, pids, file_no, offset)

    def _bundle_owner(self, resources: list[Resource], where: str) -> str | None:
        """The id of a Bundle's one Patient (``bundle_per_patient``); None, with an issue when the
        Bundle holds patient data, if it has no Patient or several (then compartments decide)."""
        ids = list(dict.fromkeys(r["id"] for r in resources if r["resourceType"] == "Patient"))
        return self._owner_of(ids, any(r["resourceType"] in PATIENT_COMPARTMENT for r in resources), where)

    def _owner_of(self, ids: list[str], patient_data: bool, where: str) -> str | None:
        if len(ids) == 1:
            return ids[0]
        if ids or patient_data:
            found = f"{len(ids)} Patient resources ({', '.join(ids[:5])})" if ids else "no Patient resource"
            detail = f"a bundle per patient was expected, but it holds {found}; its resources were grouped by their patient references"
            self.issues.append(issue(where, {"resourceType": "Bundle"}, NOT_ONE_PATIENT, detail, skipped=False))
        return None

    # ---------------------------------------------------------------- large Bundles, streamed

    def _index_json_streamed(self, path: Path) -> bool:
        """A large Bundle read entry by entry, so memory holds one entry, the shared resources
        and the bundle's fullUrl map, never the whole document. Two passes: the first checks the
        JSON is whole and collects the fullUrls (a reference may name an entry further on), the
        second indexes each entry, its patient resources copied to the scratch NDJSON file.
        False when the file is not a Bundle (it is then parsed whole, as small files are)."""
        where = str(path)
        try:
            with _open_binary(path) as f:
                if next(ijson.items(f, "resourceType"), None) != "Bundle":
                    return False
            full_urls: FullUrlMap = {}
            patient_ids: dict[str, None] = {}
            patient_data = False
            with _open_binary(path) as f:
                for entry in ijson.items(f, "entry.item", use_float=True):
                    resource = entry.get("resource") if isinstance(entry, dict) else None
                    if not isinstance(resource, dict):
                        continue
                    rtype, rid = resource.get("resourceType"), resource.get("id")
                    if isinstance(entry.get("fullUrl"), str) and isinstance(rtype, str) and isinstance(rid, str) and rid:
                        full_urls[entry["fullUrl"]] = (rtype, rid)
                    if rtype == "Patient" and isinstance(rid, str):
                        patient_ids[rid] = None
                    patient_data = patient_data or rtype in PATIENT_COMPARTMENT
        except ijson.JSONError as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "trailing garbage" in message:  # NDJSON saved as .json: read it as such
                self._index_ndjson(path)
                return True
            self.issues.append(issue(where, None, INVALID_JSON, message))
            return True
        except UnicodeDecodeError as exc:
            self.issues.append(issue(where, None, INVALID_JSON, str(exc)))
            return True
        owner = self._owner_of(list(patient_ids), patient_data, where) if self._bundle_per_patient else None
        with _open_binary(path) as f:
            for entry in self._streamed_entries(ijson.items(f, "entry.item", use_float=True), full_urls):
                self._index_entry(entry, path, where, owner)
        return True

    @staticmethod
    def _streamed_entries(items: Any, full_urls: FullUrlMap) -> Iterator[Entry]:
        """The entries :func:`~.bundles.flatten` gives, from a stream of the top-level ones."""
        for i, entry in enumerate(items):
            label = str(i)
            if not isinstance(entry, dict):
                yield Entry(label, entry, full_urls)
                continue
            resource = entry.get("resource")
            if resource is None:
                continue
            if is_bundle(resource):
                yield from flatten(resource, f"{label}.", full_urls)
            else:
                yield Entry(label, resource, full_urls)

    def _index_entry(self, entry: Entry, path: Path, where: str, owner: str | None) -> None:
        location = f"{where} (entry {entry.label})"
        if not self._checked(entry.resource, location):
            return
        pids = [owner] if owner is not None else compartment_patients(entry.resource, make_resolver(entry.full_urls))
        rewrite_references(entry.resource, entry.full_urls)
        if not pids:
            self._note_unresolved(entry, location)
            self._shared[(entry.resource["resourceType"], entry.resource["id"])] = entry.resource
            return
        spill, file_no = self._spill_file()
        if not self._spill_origins or self._spill_origins[-1][1] != path:
            self._spill_origins.append((spill.tell(), path))
        offset = spill.tell()
        spill.write(json.dumps(entry.resource, separators=(",", ":")).encode() + b"\n")
        self._place(entry.resource, pids, file_no, offset)

    def _spill_file(self) -> tuple[IO[bytes], int]:
        if self._spill is None:
            spill_path = self._scratch_dir() / "multi-patient-bundles.ndjson"
            self._spill = spill_path.open("ab")
            self._spill_no = self._add_file(spill_path, spill_path, "ndjson")
        return self._spill, self._spill_no

    def _note_unresolved(self, entry: Entry, location: str) -> None:
        """A resource that should belong to a patient but names it by an unknown urn: say so."""
        if entry.resource["resourceType"] not in PATIENT_COMPARTMENT:
            return
        missing = unresolved_urns(entry.resource, entry.full_urls)
        if missing:
            detail = f"{', '.join(missing[:3])} not in this bundle; kept as a shared resource"
            self.issues.append(issue(location, entry.resource, UNRESOLVED_REFERENCE, detail, skipped=False))


class _Reader:
    """Second-pass reads: NDJSON by offset (handles kept open), Bundles parsed once and cached."""

    def __init__(self, files: list[_File]) -> None:
        self.files = files
        self.handles: OrderedDict[int, IO[bytes]] = OrderedDict()
        self.parsed: OrderedDict[int, Any] = OrderedDict()

    def load(self, packed: int) -> Resource:
        file_no, position = packed >> _SHIFT, packed & _MASK
        f = self.files[file_no]
        try:
            if f.kind == "ndjson":
                handle = self._handle(file_no)
                handle.seek(position)
                resource: Resource = json.loads(handle.readline())
                return resource
            document = self._document(file_no)
            if f.kind == "single":
                single: Resource = document
                return single
            entry: Entry = document[position]
            rewrite_references(entry.resource, entry.full_urls)
            bundled: Resource = entry.resource
            return bundled
        except (OSError, ValueError, IndexError, TypeError) as exc:
            raise DataSourceError(f"{f.path} changed while it was being read ({exc})", url=str(f.path)) from exc

    def _handle(self, file_no: int) -> IO[bytes]:
        handle = self.handles.get(file_no)
        if handle is None:
            if len(self.handles) >= _OPEN_FILES:
                self.handles.popitem(last=False)[1].close()
            handle = self.handles[file_no] = self.files[file_no].read_path.open("rb")
        else:
            self.handles.move_to_end(file_no)
        return handle

    def _document(self, file_no: int) -> Any:
        document = self.parsed.get(file_no)
        if document is None:
            if len(self.parsed) >= _BUNDLE_CACHE:
                self.parsed.popitem(last=False)
            with _open_binary(self.files[file_no].read_path) as f:
                document = json.load(f)
            if self.files[file_no].kind == "bundle":
                document = list(flatten(document))
            self.parsed[file_no] = document
        else:
            self.parsed.move_to_end(file_no)
        return document

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
        self.parsed.clear()
