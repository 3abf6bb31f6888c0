"""A national-size dataset written with PostgreSQL COPY (issue 7): `manage.py seed_scale`.

For N products: about 0.3·N filing units, 3·N product–patent pairs (each pair a `PatentRight` of the
product's unit and the `Patent` it names; every data year of the product carries the pair as a
`PatentLink`, as a yearly update copies them), up to five data years of `ProductVersion` rows (products
start in different years and some stop), every `FilingStatus` with "approved" dominant, filing numbers
in the real format with `FilingNumberSequence` moved past them, valid USCCs and application numbers
(their check characters computed by `filings.identifiers`), and the skew of the real platform: about
three quarters of the units in 广东, 江苏, 浙江, 山东, 北京 and 上海, the rest spread unevenly over the
other provinces. The same seed on the same day gives the same rows.

The rows are generated in Python as COPY text and written table by table in chunks (FK constraints are
DEFERRABLE INITIALLY DEFERRED, so the order inside the transaction does not matter), then the id
sequences are moved past the new ids (`setval`) and the tables analysed. Rosters and a certification
round are made afterwards through the ORM and the set-based engine (see the command).

The organisation-code body of every seeded unit starts with ``MAY`` (``MAX`` for the roster-only
enterprises that never filed): no demo unit uses these, and `seeded_units_exist` looks for them.

The modules: `profile` (distributions, names, the plan and the tables), `generator` (the rows) and `writing`
(COPY, sequences, statistics, truncation); each imports only the ones before it. Their public names are
exported here.
"""

from provincial.scale.generator import Generator
from provincial.scale.profile import (
    BIG_SIX,
    BIG_SIX_SHARE,
    BRANDS,
    CHUNK,
    EARLIER_STATUS,
    KIND_BY_DIGIT,
    LATEST_STATUS,
    LEGAL,
    NULL,
    PAIRS,
    PATENT_TYPES,
    PRODUCT_WORDS,
    RIGHTS,
    SCALES,
    SERIAL_BASE,
    SUFFIXES,
    TABLES,
    TAIL,
    TITLE_CORE,
    TITLE_WORDS,
    TRADES,
    UNFILED_MARK,
    UNIT_MARK,
    Plan,
    S,
    TableSpec,
    Weighted,
    base31,
)
from provincial.scale.writing import (
    FORCE_TRUNCATE,
    Report,
    analyze,
    copy_lines,
    fill_search_text,
    generate_all,
    produced,
    reset_sequences,
    save_sequences,
    seed_tables,
    seeded_units_exist,
    truncate,
    write,
)

__all__ = [
    "BIG_SIX",
    "BIG_SIX_SHARE",
    "BRANDS",
    "CHUNK",
    "EARLIER_STATUS",
    "FORCE_TRUNCATE",
    "KIND_BY_DIGIT",
    "LATEST_STATUS",
    "LEGAL",
    "NULL",
    "PAIRS",
    "PATENT_TYPES",
    "PRODUCT_WORDS",
    "RIGHTS",
    "SCALES",
    "SERIAL_BASE",
    "SUFFIXES",
    "TABLES",
    "TAIL",
    "TITLE_CORE",
    "TITLE_WORDS",
    "TRADES",
    "UNFILED_MARK",
    "UNIT_MARK",
    "Generator",
    "Plan",
    "Report",
    "S",
    "TableSpec",
    "Weighted",
    "analyze",
    "base31",
    "copy_lines",
    "fill_search_text",
    "generate_all",
    "produced",
    "reset_sequences",
    "save_sequences",
    "seed_tables",
    "seeded_units_exist",
    "truncate",
    "write",
]
