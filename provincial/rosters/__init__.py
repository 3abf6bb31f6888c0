"""Target rosters (重点企业名单) and their coverage.

Services: parse an uploaded roster (an Excel sheet of USCCs and names), check every row and save it in
one transaction, or save nothing; delete a roster. Selectors: the coverage figures that the pages, the
Excel exports and the API share, so the three always agree.

Scope: a user sees the rosters of `Roster.objects.visible_to` and, of those, the entries of
`RosterEntry.objects.visible_to` (by the region in the entry's USCC, characters 3–8): a province port
sees only its own enterprises on a national roster. An entry counts as covered when a filing unit with
the same USCC has at least one approved product (`Product.published_version` set) — a fact about the
in-scope enterprise itself, checked with one EXISTS per entry.

Rosters are dated reference data uploaded by the administrators; no enterprise list is hard-coded.

The modules: `files` (the template and the checks of a file's rows), `services` (saving, merging, importing
in the background, deleting), `coverage` (the selectors) and `demo` (the demo rosters); each depends only on
the ones before it. Their public names are exported here (`from provincial import rosters`).
"""

from provincial.rosters.coverage import (
    EMPTY_CONTACT,
    STATE_DRAFT,
    STATE_PENDING,
    STATE_REGISTERED,
    STATE_UNREGISTERED,
    CoverageRow,
    approved_filing_exists,
    coverage,
    coverage_by_category,
    coverage_by_port,
    coverage_trend,
    describe_missing,
    distinct_counts,
    missing_entries,
    percent,
    port_sort_key,
    roster_contacts_of,
    roster_entries,
    roster_years,
    rosters_with_counts,
    state_labels,
    unit_scope,
    units_in_scope,
    visible_rosters,
)
from provincial.rosters.demo import DEMO_CONTACTS, DEMO_FILED, DEMO_UNFILED, load_demo_rosters
from provincial.rosters.files import (
    FIRST_YEAR,
    HEADER_CONTACT,
    HEADER_EMAIL,
    HEADER_NAME,
    HEADER_PHONE,
    HEADER_USCC,
    MAX_ROWS,
    ROSTER_COLUMNS,
    ParsedEntry,
    RosterImportError,
    RowError,
    build_template,
    check_contact,
    parse_roster,
    region_of,
    validate_year,
)
from provincial.rosters.services import (
    ROSTER_ADMINS,
    ROSTER_IMPORT,
    DuplicateRoster,
    RosterImport,
    can_delete,
    duplicate_of,
    port_of,
    roster_delete,
    roster_import,
    roster_save,
    roster_upload_create,
    run_roster_upload,
)

__all__ = [
    "DEMO_CONTACTS",
    "DEMO_FILED",
    "DEMO_UNFILED",
    "EMPTY_CONTACT",
    "FIRST_YEAR",
    "HEADER_CONTACT",
    "HEADER_EMAIL",
    "HEADER_NAME",
    "HEADER_PHONE",
    "HEADER_USCC",
    "MAX_ROWS",
    "ROSTER_ADMINS",
    "ROSTER_COLUMNS",
    "ROSTER_IMPORT",
    "STATE_DRAFT",
    "STATE_PENDING",
    "STATE_REGISTERED",
    "STATE_UNREGISTERED",
    "CoverageRow",
    "DuplicateRoster",
    "ParsedEntry",
    "RosterImport",
    "RosterImportError",
    "RowError",
    "approved_filing_exists",
    "build_template",
    "can_delete",
    "check_contact",
    "coverage",
    "coverage_by_category",
    "coverage_by_port",
    "coverage_trend",
    "describe_missing",
    "distinct_counts",
    "duplicate_of",
    "load_demo_rosters",
    "missing_entries",
    "parse_roster",
    "percent",
    "port_of",
    "port_sort_key",
    "region_of",
    "roster_contacts_of",
    "roster_delete",
    "roster_entries",
    "roster_import",
    "roster_save",
    "roster_upload_create",
    "roster_years",
    "rosters_with_counts",
    "run_roster_upload",
    "state_labels",
    "unit_scope",
    "units_in_scope",
    "validate_year",
    "visible_rosters",
]
