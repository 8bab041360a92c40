"""`pedqm serve`: a FHIR measure operations server over the measure library and a data source.

Serves `GET /metadata`, Measure/Library/ValueSet read and search, `$evaluate-measure`, DEQM
`$evaluate`, `$submit-data`, `$data-requirements`, `$collect-data` and `$care-gaps`
(see :mod:`pedqm.server`). `--data` is read as `pedqm evaluate` reads it: files, or a FHIR
server (one patient fetched per single-subject request; `--bulk` exports are read whole). Submitted data and asynchronous jobs are kept in a SQLite file
(`--db`), so they survive a restart. Requests are logged by route only: no ids, no query
strings, no patient data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from .data_options import add_data_arguments, open_data
from .errors import UsageError

DEFAULT_DB = Path("~/.local/share/pedqm/server.sqlite")


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve FHIR measure operations ($evaluate-measure, $evaluate, $submit-data, ...)",
                       description=__doc__)
    p.add_argument("--measures", nargs="+", type=Path, default=[], metavar="DIR|BUNDLE",
                   help="measure bundles, measure directories, or folders of them, served beside the measure library")
    p.add_argument("--no-library", action="store_true", help="do not serve the bundled measure library")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--db", type=Path, default=None,
                   help=f"SQLite file for submitted data and jobs (default {DEFAULT_DB}, or $PEDQM_SERVER_DB)")
    p.add_argument("--require-profile-tags", action="store_true",
                   help="QI-Core retrieves keep only resources whose meta.profile claims the profile")
    p.add_argument("--require-token", metavar="TOKEN",
                   help="clients must send Authorization: Bearer TOKEN on every endpoint but /metadata "
                        "(or set PEDQM_SERVER_TOKEN; --bearer-token is the token for a --data server)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    add_data_arguments(p, required=False)  # --data and its server options (bearer, SMART, --bulk), as `evaluate` has them
    p.set_defaults(run=run)


def _db_path(args: argparse.Namespace) -> Path:
    import os

    given = args.db or (Path(os.environ["PEDQM_SERVER_DB"]) if os.environ.get("PEDQM_SERVER_DB") else DEFAULT_DB)
    path = given.expanduser()
    if path.exists() and not path.is_file():
        raise UsageError(f"--db: {path} is not a file")
    return path


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be 1..65535, got {args.port}")
    for m in args.measures:
        if not m.exists():
            raise UsageError(f"--measures: no such file or directory: {m}")
    try:
        import uvicorn

        from ..server.app import ServerConfig, ServerState, create_app
    except ImportError as exc:
        raise UsageError(f"pedqm serve needs the 'server' extra ({exc.name} is missing): pip install 'pedqm[server]'") from None

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    log = logging.getLogger("pedqm.server")
    import os

    token = args.require_token or os.environ.get("PEDQM_SERVER_TOKEN") or None
    config = ServerConfig(data=args.data, measures=list(args.measures), db=_db_path(args),
                          include_library=not args.no_library, require_profile_tags=args.require_profile_tags,
                          bearer_token=token)
    source = open_data(args) if args.data else None  # checked (files indexed, a server's metadata read) before serving
    state = ServerState(config, source)
    for problem in state.catalog.problems:
        log.warning("measure package not served: %s", problem)
    n = state.data.prepare()
    log.info("serving %d measure(s), %d patient(s) from %s; store %s (%d resources)", len(state.catalog.measures), n,
             state.data.description, config.db, state.store.count())
    app = create_app(config, state)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level=args.log_level)
    return 0
