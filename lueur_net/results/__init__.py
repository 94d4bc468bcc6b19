"""lueur_net.results: the results document (results_v1, results.json) of a run, and the recorder that collects it.

Why a package of its own, above `driver`, `records` and `analysis`: the document joins what each of them knows (the
driver's ItemSpec and ItemRun, the records' frame, analysis' statistics, verdicts and redaction) with the scenario
model. Kept inside `records/` it made records both the bottom (the driver imports `records.call`) and the top (it
imported the driver and analysis): a circle. Now the arrows point one way:

    records  <-  driver, analysis  <-  results  <-  runner

`records` is the call record and its frame; `analysis` reads records and never imports this package (reports read
results.json as a file). See docs/results-schema.md.

Public API:

    RunRecorder                         add(...) per item, then write(results_path, records_path)
    item_document(scenario, item_index, spec, run, frame) -> dict
    attach_data_plane(document, counters=, backends=, plan=, calls=)     the data plane's part of an item
    mark_backend_failures(document, failures, t0)                       a backend that failed during the item
    results_document([...], started_at=, finished_at=, ...) -> dict;  write_results(document, path)
"""

from lueur_net.results.document import (
    SCHEMA,
    SCHEMA_VERSION,
    attach_data_plane,
    host_facts,
    item_document,
    item_rules,
    mark_backend_failures,
    results_document,
    write_results,
)
from lueur_net.results.recorder import RunRecorder

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "RunRecorder",
    "attach_data_plane",
    "host_facts",
    "item_document",
    "item_rules",
    "mark_backend_failures",
    "results_document",
    "write_results",
]
