"""Bundles of any type (transaction, batch, collection, searchset, document, ...) as plain resources.

A Bundle is a container, not data: its entries are what measures read. Entries are flattened in a
fixed order (nested Bundles included), so an entry can be found again by its position, and
bundle-local references (``urn:uuid:...`` fullUrls, as Synthea writes them) are resolved to
``Type/id`` so that a resource reads the same whether it came from a file or a server, which
rewrites them on transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..records import Resource
from .compartment import ReferenceResolver

FullUrlMap = dict[str, tuple[str, str]]


@dataclass
class Entry:
    """One resource of a bundle, with what is needed to resolve and report it."""

    label: str  # "12" or "3.5" for an entry of a nested Bundle, for messages
    resource: Any  # unchecked: whatever the entry held
    full_urls: FullUrlMap  # the fullUrl map of the bundle (and outer bundles) it came from


def is_bundle(document: Any) -> bool:
    return isinstance(document, dict) and document.get("resourceType") == "Bundle"


def _full_url_map(bundle: dict[str, Any], outer: FullUrlMap) -> FullUrlMap:
    mapping = dict(outer)
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        full_url, resource = entry.get("fullUrl"), entry.get("resource")
        if isinstance(full_url, str) and isinstance(resource, dict):
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str) and rid:
                mapping[full_url] = (rtype, rid)
    return mapping


def flatten(bundle: dict[str, Any], prefix: str = "", outer: FullUrlMap | None = None) -> Iterator[Entry]:
    """Every resource in ``bundle`` in document order; entries without a resource are skipped.

    Entries that are not objects are yielded as ``Entry(resource=<that value>)`` so the caller
    reports them rather than losing them silently.
    """
    full_urls = _full_url_map(bundle, outer or {})
    entries = bundle.get("entry")
    if entries is None:
        return
    if not isinstance(entries, list):
        yield Entry(prefix + "entry", entries, full_urls)
        return
    for i, entry in enumerate(entries):
        label = f"{prefix}{i}"
        if not isinstance(entry, dict):
            yield Entry(label, entry, full_urls)
            continue
        resource = entry.get("resource")
        if resource is None:  # DELETE requests, response entries without a body
            continue
        if is_bundle(resource):
            yield from flatten(resource, f"{label}.", full_urls)
        else:
            yield Entry(label, resource, full_urls)


def make_resolver(full_urls: FullUrlMap) -> ReferenceResolver | None:
    """A function from a reference string to (type, id) for fullUrls of the bundle, else None."""
    return full_urls.get if full_urls else None


def rewrite_references(node: Any, full_urls: FullUrlMap) -> None:
    """Replace ``urn:`` references that name a bundle entry with ``Type/id``, in place."""
    if not full_urls:
        return
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("reference")
            if isinstance(ref, str) and ref.startswith("urn:"):
                target = full_urls.get(ref)
                if target is not None:
                    current["reference"] = f"{target[0]}/{target[1]}"
            stack.extend(v for v in current.values() if isinstance(v, dict | list))
        elif isinstance(current, list):
            stack.extend(v for v in current if isinstance(v, dict | list))


def unresolved_urns(resource: Resource, full_urls: FullUrlMap) -> list[str]:
    """``urn:`` references in ``resource`` that no entry of its bundle answers."""
    missing: list[str] = []
    stack: list[Any] = [resource]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("reference")
            if isinstance(ref, str) and ref.startswith("urn:") and ref not in full_urls and ref not in missing:
                missing.append(ref)
            stack.extend(v for v in current.values() if isinstance(v, dict | list))
        elif isinstance(current, list):
            stack.extend(v for v in current if isinstance(v, dict | list))
    return missing
