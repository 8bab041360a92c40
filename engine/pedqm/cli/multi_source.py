"""Several ``--data`` sources in one run: each opened with its options, named, then linked.

``--data practice=DIR --data school=https://…`` opens every source as a single ``--data`` would
be opened (so each is checked before any work: files for patients, servers for ``metadata``),
tags what it yields with its name, and reads them together as a
:class:`~pedqm.linkage.LinkedSource`. Server and authorization options apply to every server
source; a source's own token can come from ``PEDQM_BEARER_TOKEN_<NAME>`` (NAME upper-cased, ``-``
as ``_``). The linkage runs at once, so its summary (and ``--linkage-output``,
``--review-output``) is there before any measure is evaluated.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from ..fhir.sources.provenance import NamedSource
from ..linkage import (
    LinkageUnavailable,
    LinkedSource,
    ProbabilisticOptions,
    linkage_bundle,
    write_review,
)
from .data_options import BEARER_ENV, DataOptionsError, _open_one
from .errors import NoPatientsError

_SERVER_ONLY = ("bearer_token", "smart_client_id", "smart_key", "smart_alg", "smart_kid", "smart_scope", "token_url",
                "bulk_level", "bulk_group", "bulk_type", "since", "type_filter", "work_dir", "page_size",
                "max_concurrency", "timeout")


def default_name(spec: str, taken: set[str]) -> str:
    """A name for an unnamed source: the folder or file name, or the server's host."""
    if spec.lower().startswith(("http://", "https://")):
        base = spec.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0]
    else:
        base = Path(spec).name.split(".", 1)[0]
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-") or "source"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _options(args: argparse.Namespace) -> ProbabilisticOptions | None:
    if not args.link_probabilistic:
        if args.link_accept is not None or args.link_review is not None or args.review_output is not None:
            raise DataOptionsError("--link-accept, --link-review and --review-output apply with --link-probabilistic")
        return None
    try:
        return ProbabilisticOptions(accept=0.99 if args.link_accept is None else args.link_accept,
                                    review=0.80 if args.link_review is None else args.link_review)
    except ValueError as exc:
        raise DataOptionsError(f"--link-accept/--link-review: {exc}") from exc


def open_linked(args: argparse.Namespace, specs: list[tuple[str | None, str]]) -> LinkedSource:
    options = _options(args)
    for name in ("linkage_output", "review_output"):
        path = getattr(args, name, None)
        if path is not None and not path.parent.exists():
            raise DataOptionsError(f"--{name.replace('_', '-')}: no such directory: {path.parent}")
    taken: set[str] = {n for n, _ in specs if n is not None}
    if len(taken) != sum(1 for n, _ in specs if n):
        raise DataOptionsError("--data: two sources have the same name")
    sources: list[NamedSource] = []
    for given, spec in specs:
        name = given if given is not None else default_name(spec, taken)
        taken.add(name)
        one = argparse.Namespace(**vars(args))
        one.data = spec
        if spec.lower().startswith(("http://", "https://")):
            token = os.environ.get(f"{BEARER_ENV}_{name.upper().replace('-', '_')}")
            if token:
                one.bearer_token = token
        else:
            for option in _SERVER_ONLY:
                setattr(one, option, None)
            one.bulk = False
        try:
            source = _open_one(one, spec)
        except DataOptionsError as exc:
            raise DataOptionsError(f"{name}: {exc}") from exc
        sources.append(NamedSource(name, source))
    systems = frozenset(args.link_identifier_system) if getattr(args, "link_identifier_system", None) else None
    linked = LinkedSource(sources, probabilistic=options, identifier_systems=systems,
                          on_pass_done=lambda done: print(done.duplicate_summary(), file=sys.stderr))
    try:
        linkage = linked.linkage
    except LinkageUnavailable as exc:
        raise DataOptionsError(f"--link-probabilistic: {exc}") from exc
    if not linkage.patients and not getattr(args, "allow_empty", False):
        raise NoPatientsError(f"no patients in {linked.description}", url=linked.description)
    print(linkage.summary(), file=sys.stderr)
    if args.linkage_output is not None:
        args.linkage_output.write_text(json.dumps(linkage_bundle(linkage), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.linkage_output} (linked Patients)", file=sys.stderr)
    if args.review_output is not None:
        n = write_review(linkage, args.review_output)
        print(f"wrote {args.review_output} ({n} pairs to review)", file=sys.stderr)
    linked.checked_patients = True
    return linked
