"""lueur_net.records: the run's calls as records and a pandas DataFrame, results.json (results_v1) and the
columnar calls file. See docs/results-schema.md.

`lueur_net.records.call` is plain data (the driver imports it in its forked child); `frame` needs pandas;
`results` builds results.json from the scenario model, the records and lueur_net.analysis verdicts.
"""

from lueur_net.records.call import CallRecord, call_failures, is_error

__all__ = ["CallRecord", "call_failures", "is_error"]
