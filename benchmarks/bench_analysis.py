"""An item's analysis after its calls: the records' frame and the item's statistics, against the generic way.

`run` builds one frame per item (lueur_net.records.frame.records_frame) and its statistics (lueur_net.analysis.
stats.item_stats) after every item's calls, while the next item waits. The baseline is the generic construction
read_records still uses (a DataFrame of dicts, then one conversion per column: _typed), which records_frame did
before issue 13. Sizes: one call (a single item), 6 calls (a repeat), 3000 calls (a load item at 300 rps for
10 s). Printed, not asserted; no root, no network.

    .venv/bin/python benchmarks/bench_analysis.py [--tries 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics

import pandas as pd

from lueur_net.analysis.stats import item_stats
from lueur_net.records.call import CallRecord
from lueur_net.records.frame import COLUMNS, _typed, records_frame
from timing import timed_ms


def calls(count: int) -> list[CallRecord]:
    """Calls of a load item: every 20th fails (no status, a timeout), two thirds under fault window f0."""
    return [
        CallRecord("bench", 0, 0, 0, "fault", index % 5, index, "GET", "http://localhost:9090/", index * 0.01,
                   index * 0.01 + 0.0002, None, None, 3.0, 4.0, 4.2, None if index % 20 == 0 else 200, 120, 240,
                   "timeout" if index % 20 == 0 else None, "timed out" if index % 20 == 0 else None,
                   ["f0"] if index % 3 else [], False)
        for index in range(count)
    ]


def generic_frame(records: list[CallRecord]) -> pd.DataFrame:
    """The construction before: rows as dicts, then a conversion per column."""
    frame = pd.DataFrame([dataclasses.asdict(r) for r in records], columns=[c for c in COLUMNS if c != "send_lag_ms"])
    frame["send_lag_ms"] = (frame["sent_s"] - frame["intended_s"]) * 1000.0
    return _typed(frame)



def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; ms, median [min-max] of {args.tries} tries")
    print(f"{'calls':>6} | {'frame: generic':>22} | {'frame: typed columns':>22} | {'item_stats':>22}")
    for count in (1, 6, 3000):
        records = calls(count)
        before = timed_ms(lambda: generic_frame(records), args.tries)
        after = timed_ms(lambda: records_frame(records), args.tries)
        frame = records_frame(records)
        stats = timed_ms(lambda: item_stats(frame, ("f0",)), args.tries)
        print(f"{count:>6} | {spread(before):>22} | {spread(after):>22} | {spread(stats):>22}")


if __name__ == "__main__":
    main()
