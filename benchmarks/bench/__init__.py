"""`wenda bench`: how fast and how big the pipeline is on this machine (the CLI imports it from a checkout).

suite.py runs the whole bench and says what it measures; measure.py holds the small measuring helpers
and the questions; synthetic.py makes the 10k-1M corpora; workers.py is what runs in a fresh process
(`python -m bench.workers`); report.py prints the table and draws the plot.
"""

from bench.measure import (
    CMRC,
    bench_questions,
    machine,
    peak_rss_mb,
    percentiles,
    rss_mb,
)
from bench.report import format_report, plot
from bench.suite import SHIPPED, build_cmrc, build_shipped, real_pool, run
from bench.synthetic import (
    Pool,
    bm25_from_parts,
    make_synthetic,
    recall_at_10,
    synthetic_vectors,
    vector_realism,
)

__all__ = [
    "CMRC",
    "SHIPPED",
    "Pool",
    "bench_questions",
    "bm25_from_parts",
    "build_cmrc",
    "build_shipped",
    "format_report",
    "machine",
    "make_synthetic",
    "peak_rss_mb",
    "percentiles",
    "plot",
    "real_pool",
    "recall_at_10",
    "rss_mb",
    "run",
    "synthetic_vectors",
    "vector_realism",
]
