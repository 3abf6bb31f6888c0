"""The ports' analysis page (数据分析, issue 20): a pivot table of the filing figures, any dimensions as
rows and columns, any measures, filters, totals, a period and the year before.

Dimensions and measures are declared once below; a request is a `Definition` (validated here, the same
for the page, the export and a saved analysis), and `run()` answers it with one GROUP BY per table and
moment, read through the scoping rule (`provincial.dashboards.Area`).

The modules: `definition` (dimensions, measures, the request), `labels` (the values offered and their
labels), `queries` (time buckets and the GROUP BYs), `result` (`run`: the table and the chart) and `saved`
(saved analyses); each imports only the ones before it. Their public names are exported here.

Definitions (docs/PORTS.md, "Analysis (pivot)"), the dashboards' own (`provincial.dashboards`):
- the figures of a period are its as-of figures at the period's end (`dashboards.as_of`: approved at that moment,
  the version then published, the unit's region, industry, scale and kind then, certificates held then);
  with no period they are the current state, read from the summary cells (`provincial.dashboards`) when every
  chosen dimension, filter and measure is held by the cells, else from the base tables;
- products: approved products (with the filing-status dimension or filter: filed products, split into
  approved and not approved); sales, exports, output: summed over the version published at the moment;
  patents: the patent links of that version (a patent in two products counts twice); certified: products
  holding a certificate at the moment; units: filing units registered at the moment (the dashboards'
  definition), hence only by the units' own dimensions (region, industry section, scale, unit kind);
- a time dimension (month, quarter, year) splits the period: each bucket holds the figures as of its end,
  and its total is the last bucket's (stock figures are not added up over time);
- the patent-type dimension counts a product under each type of patent its version links, so its total
  (every product once, with or without patents) is not the sum of its columns; every other dimension
  partitions, and its total is the sum.
"""

from provincial.analysis.definition import (
    APPROVED,
    CELL_KEYS,
    DIMENSIONS,
    GROUP,
    MAX_DIMENSIONS,
    MEASURES,
    NO,
    NOT_APPROVED,
    PATENT,
    PRODUCT_MEASURES,
    REGION_DIMS,
    TIME,
    TOTAL,
    UNIT_DIMS,
    YES,
    Definition,
    DefinitionError,
    Dimension,
    Measure,
)
from provincial.analysis.labels import choices
from provincial.analysis.queries import Bucket, Frame, buckets, covered_by_cells
from provincial.analysis.result import MAX_CELLS, MAX_MOMENTS, Result, TooLarge, measure_label, run
from provincial.analysis.saved import analysis_save, port_of, saved_visible_to

__all__ = [
    "APPROVED",
    "CELL_KEYS",
    "DIMENSIONS",
    "GROUP",
    "MAX_CELLS",
    "MAX_DIMENSIONS",
    "MAX_MOMENTS",
    "MEASURES",
    "NO",
    "NOT_APPROVED",
    "PATENT",
    "PRODUCT_MEASURES",
    "REGION_DIMS",
    "TIME",
    "TOTAL",
    "UNIT_DIMS",
    "YES",
    "Bucket",
    "Definition",
    "DefinitionError",
    "Dimension",
    "Frame",
    "Measure",
    "Result",
    "TooLarge",
    "analysis_save",
    "buckets",
    "choices",
    "covered_by_cells",
    "measure_label",
    "port_of",
    "run",
    "saved_visible_to",
]
