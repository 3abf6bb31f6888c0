"""Filing numbers under concurrency: approvals racing in separate database connections.

Run against PostgreSQL (the production database), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pp_workflow pytest tests/filings/test_filing_numbers.py
Each approving thread has its own connection, so the row locks of `workflow.allocate_filing_number`
are really contended; a barrier releases all threads at once.
"""

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from filings import workflow
from filings.models import FilingNumberSequence, FilingUnit, Product, ProductVersion
from patent_platform.models import User

pytestmark = [pytest.mark.postgres]

N = 8


def _approve_in_parallel(versions: list[ProductVersion], reviewer_pk: int) -> tuple[list[str], list[BaseException]]:
    barrier = threading.Barrier(len(versions), timeout=30)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(version_pk: int) -> None:
        try:
            reviewer = User.objects.get(pk=reviewer_pk)  # read in this thread's own connection
            version = ProductVersion.objects.get(pk=version_pk)
            barrier.wait()
            workflow.version_approve(version=version, user=reviewer)
        except BaseException as exc:  # every failure is reported by the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(v.pk,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "an approval hung"
    numbers = list(
        Product.objects.filter(versions__in=versions)
        .exclude(filing_number=None)
        .values_list("filing_number", flat=True)
    )
    return numbers, errors


def _submitted(
    new_version: Callable[..., ProductVersion], unit: FilingUnit, user: User, n: int
) -> list[ProductVersion]:
    versions = []
    for _i in range(n):
        version = new_version(unit, user)
        workflow.version_submit(version=version, user=user)
        versions.append(version)
    return versions


def _serials(numbers: list[str], province: str) -> list[int]:
    year = workflow.china_today().year
    for number in numbers:
        assert re.fullmatch(rf"BA{year}{province}\d{{6}}", number), number
    return sorted(int(n[-6:]) for n in numbers)


def test_parallel_approvals_in_one_province_get_distinct_consecutive_numbers(
    transactional_db: Any,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
) -> None:
    assert connection.vendor == "postgresql"
    versions = _submitted(new_version, unit_a, filer_a, N)
    assert not FilingNumberSequence.objects.exists()  # the threads also race to create the sequence row

    numbers, errors = _approve_in_parallel(versions, reviewer.pk)

    assert errors == []
    assert len(numbers) == N and len(set(numbers)) == N
    assert _serials(numbers, "44") == list(range(1, N + 1))
    assert FilingNumberSequence.objects.get(province_code="44").last == N
    assert set(ProductVersion.objects.filter(pk__in=[v.pk for v in versions]).values_list("status", flat=True)) == {
        "approved"
    }


def test_parallel_approvals_in_two_provinces_each_count_from_one(
    transactional_db: Any,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
    unit_b: FilingUnit,
    filer_b: User,
    reviewer: User,
) -> None:
    half = N // 2
    guangdong = _submitted(new_version, unit_a, filer_a, half)
    zhejiang = _submitted(new_version, unit_b, filer_b, half)
    interleaved = [v for pair in zip(guangdong, zhejiang, strict=True) for v in pair]

    numbers, errors = _approve_in_parallel(interleaved, reviewer.pk)

    assert errors == []
    assert len(set(numbers)) == N
    year = workflow.china_today().year
    assert _serials([n for n in numbers if n.startswith(f"BA{year}44")], "44") == list(range(1, half + 1))
    assert _serials([n for n in numbers if n.startswith(f"BA{year}33")], "33") == list(range(1, half + 1))
    assert dict(FilingNumberSequence.objects.values_list("province_code", "last")) == {"44": half, "33": half}


def test_a_later_approval_continues_the_sequence(
    transactional_db: Any,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
) -> None:
    first, errors = _approve_in_parallel(_submitted(new_version, unit_a, filer_a, 3), reviewer.pk)
    assert errors == []
    (version,) = _submitted(new_version, unit_a, filer_a, 1)
    workflow.version_approve(version=version, user=reviewer)
    assert _serials([*first, version.product.filing_number], "44") == [1, 2, 3, 4]
