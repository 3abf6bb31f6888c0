"""Virtual marking (专利标识): what the public page of a filed product shows about its patents and its
certificates.

The certificates belong to the evaluation app, above this one; it registers the function that lists a
product's certificates with their status today (evaluation/lifecycle.py `public_certificates`, connected in
`EvaluationConfig.ready`), so this layer reads them without importing evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CertificateReader = Callable[[int], list[dict[str, Any]]]
_readers: list[CertificateReader] = []


def register_certificates(reader: CertificateReader) -> None:
    if reader not in _readers:
        _readers.append(reader)


def certificates_of(product_id: int) -> list[dict[str, Any]]:
    """Every certificate of the product, with its status today and why (none without the evaluation app)."""
    return [row for reader in _readers for row in reader(product_id)]
