"""An optional FHIR terminology server for value sets nobody supplied: `ValueSet/$expand`.

A :class:`~pedqm.fhir.terminology.ValueSetIndex` asks it only on a miss; expansions are cached
on disk (one JSON file per canonical) so later runs, and other processes, do not ask again.
Paging (`offset`/`count`) is followed until `expansion.total` is reached. HTTP goes through the
data sources' client, so retries, timeouts and auth are the same as for data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .sources.errors import DataSourceError
from .sources.http import FhirHttp

_PAGE = 1000


class TerminologyServer:
    def __init__(self, base_url: str, *, cache_dir: Path | str | None = None, http: FhirHttp | None = None, **http_options: Any):
        self.http = http or FhirHttp(base_url, **http_options)
        self.cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "pedqm" / "valuesets"

    def _cache_file(self, url: str) -> Path:
        return self.cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".json")

    def expand(self, url: str) -> dict[str, Any]:
        """The ValueSet with its full expansion (from the cache when there)."""
        cached = self._cache_file(url)
        if cached.is_file():
            return dict(json.loads(cached.read_text(encoding="utf-8")))
        contains: list[dict[str, Any]] = []
        result: dict[str, Any] = {}
        offset = 0
        while True:
            try:
                result = self.http.get_json("ValueSet/$expand", what=f"expansion of {url}",
                                            params={"url": url, "offset": str(offset), "count": str(_PAGE)})
            except DataSourceError as exc:
                raise DataSourceError(f"terminology server could not expand {url}: {exc}") from exc
            page = (result.get("expansion") or {}).get("contains") or []
            contains.extend(page)
            total = (result.get("expansion") or {}).get("total")
            offset += len(page)
            if not page or total is None or offset >= int(total):
                break
        result.setdefault("url", url)
        result.setdefault("expansion", {})["contains"] = contains
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".part")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        tmp.replace(cached)
        return result
