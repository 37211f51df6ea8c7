"""Results as data: the typed cell record, the durable store that keeps records, the report's
rows derived from records, and a stored run read back as DataFrames."""

from advcompare.results.frame import main_cells, results_frame
from advcompare.results.reading import SAMPLE_COLUMNS, Results, load_results, samples_frame
from advcompare.storage.record import MAIN, CellRecord

__all__ = [
    "MAIN",
    "CellRecord",
    "Results",
    "SAMPLE_COLUMNS",
    "load_results",
    "main_cells",
    "results_frame",
    "samples_frame",
]
