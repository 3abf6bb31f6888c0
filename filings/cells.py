"""Cell readers of the filings' own identifiers, shared by the imports that read them (patent_platform.tabular
has the general ones)."""

from filings.identifiers import parse_patent_number
from patent_platform import tabular

# A patent application number in any accepted spelling (CN/ZL prefix, spaces, no dot) → its normalised form.
read_patent = tabular.validated(lambda number: parse_patent_number(number).normalized, source=tabular.number_text)
