"""lueur_net.records: the run's calls as records and a pandas DataFrame, and the columnar calls file. The bottom
of the run's data: the driver makes records, analysis reads them, and this package imports neither.

`lueur_net.records.call` is plain data (the driver imports it in its forked child); `frame` needs pandas.
The results document (results.json), which joins records with the driver's spec and analysis' verdicts, is one
layer up, in lueur_net.results. See docs/results-schema.md.
"""

from lueur_net.records.call import CallRecord, call_failures, is_error

__all__ = ["CallRecord", "call_failures", "is_error"]
