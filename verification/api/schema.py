"""The verification API's own OpenAPI document, beside the enterprise API's (docs/VERIFICATION_API.md).

The outside systems that verify filings get a document of exactly their endpoints at /api/verify/schema/ (page
/api/verify/docs/), with the OAuth2 client-credentials scheme; the enterprise API's document (/api/schema/), from
which enterprise systems generate their clients, leaves these endpoints out. Both go through the same
postprocessing hooks (every error a Problem, patent_platform/api/schema.py).
"""

from typing import Any

PATH_PREFIX = "/api/v1/verify/"

SETTINGS = {
    "TITLE": "专利产品备案与认定平台 核验接口 Verification API",
    "DESCRIPTION": (
        "For outside systems registered by CNIPA (subsidy offices, banks): verify filing numbers, certificates and "
        "filing statements as of a day, a unit's filed and certified products, a region's figures. OAuth2 client "
        "credentials at /api/v1/verify/token/. docs/VERIFICATION_API.md."
    ),
    "PREPROCESSING_HOOKS": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1/verify",
}


def without_verification(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Preprocessing hook of the enterprise API's document: the verification endpoints have their own."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(PATH_PREFIX)]
