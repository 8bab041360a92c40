"""Cost of reading several sources as linked children, against reading the practice alone.

    python tools/benchmark_linkage.py [--patients 3000] [--probabilistic]

Generates ``pedqm synth --sources all`` into a scratch directory, then times (in one run, so the
ratios compare like with like): reading every practice record (FileSource), and reading all four
sources linked (first pass, linkage, merged records). Prints seconds, records/s and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pedqm.fhir.sources import FileSource
from pedqm.fhir.sources.provenance import NamedSource
from pedqm.linkage import LinkedSource, ProbabilisticOptions
from pedqm.synth import SynthConfig
from pedqm.synth.sources import SOURCES, generate_sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--probabilistic", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate_sources(SynthConfig(patients=args.patients, seed=2025, gzip=False), out)
        t0 = time.perf_counter()
        with FileSource(out / "practice") as practice:
            n_alone = sum(1 for _ in practice.patients())
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        linked = LinkedSource([NamedSource(s, FileSource(out / s)) for s in SOURCES],
                              probabilistic=ProbabilisticOptions() if args.probabilistic else None)
        linkage = linked.linkage
        link_s = time.perf_counter() - t0
        n_linked = sum(1 for _ in linked.patients())
        together = time.perf_counter() - t0
        linked.close()
    print(f"practice alone: {n_alone} records in {alone:.1f} s ({n_alone / alone:.0f}/s)")
    print(f"four sources linked{' (probabilistic)' if args.probabilistic else ''}: {len(linkage.patients)} source "
          f"records -> {n_linked} children in {together:.1f} s ({n_linked / together:.0f}/s); first pass and "
          f"linkage {link_s:.1f} s")
    print(f"ratio linked / alone: {together / alone:.2f}")


if __name__ == "__main__":
    main()
