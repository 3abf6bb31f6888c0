"""Reading spreadsheet files (.xlsx, and .csv in UTF-8, UTF-8 with BOM or GB18030) for the platform's imports.

One package for every import: `open_table` and `read_rows` (the file, its limits and its header),
`match_header` (headers, aliases, missing, duplicate and unknown columns), the cell readers raising
`CellError`, `Problems` (the {row, column, message} a job stores) and the error report, and `TemplateBook`
for the template a user downloads. The importers (filings.imports, filings.drift, provincial.rosters)
hold only their columns and their rules.
"""

from patent_platform.tabular.cells import (
    FALSE_WORDS,
    NO,
    SOURCE_LANGUAGE,
    TRUE_WORDS,
    YES,
    CellError,
    blank,
    boolean,
    bounded_text,
    choice,
    choice_labels,
    date,
    decimal,
    decimal_or_zero,
    integer,
    norm_header,
    number_text,
    plain,
    text,
    validated,
)
from patent_platform.tabular.problems import (
    Problem,
    Problems,
    error_report_headers,
    error_report_rows,
)
from patent_platform.tabular.reading import (
    Column,
    FileError,
    HeaderMatch,
    Table,
    csv_bytes,
    csv_rows,
    decode_csv,
    match_header,
    open_table,
    read_rows,
)
from patent_platform.tabular.templates import DATE_FORMAT, OPTION_ROWS, TEXT_FORMAT, TemplateBook

__all__ = [
    "DATE_FORMAT",
    "FALSE_WORDS",
    "NO",
    "OPTION_ROWS",
    "SOURCE_LANGUAGE",
    "TEXT_FORMAT",
    "TRUE_WORDS",
    "YES",
    "CellError",
    "Column",
    "FileError",
    "HeaderMatch",
    "Problem",
    "Problems",
    "Table",
    "TemplateBook",
    "blank",
    "boolean",
    "bounded_text",
    "choice",
    "choice_labels",
    "csv_bytes",
    "csv_rows",
    "date",
    "decimal",
    "decimal_or_zero",
    "decode_csv",
    "error_report_headers",
    "error_report_rows",
    "integer",
    "match_header",
    "norm_header",
    "number_text",
    "open_table",
    "plain",
    "read_rows",
    "text",
    "validated",
]
