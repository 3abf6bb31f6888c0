"""The verification API's throughput (issue 19, part 4): an outside system verifying filing numbers, against the
bare Django response, in-process and under gunicorn with wrk, like the product list API (bench/cases.py).

A national client is registered through the service (verification/services.py), its token taken at the token
endpoint by client credentials, and every request is `GET /api/v1/verify/filings/<a filed product's number>/`
with `Authorization: Bearer …`: the token checked by django-oauth-toolkit, the client read again (expiry and
suspension), its quota counted, the filing read through the scoping rule with its years, patents and open
flags, and the call recorded (a usage row and an audit record). The bench runs without Redis (the bench
settings), so the quota counters are each gunicorn worker's local memory; in production they are Redis.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from bench.cases import throughput_pair_with_headers
from bench.runner import Result

CLIENT_NAME = "bench-verification-client"


def client_and_token() -> tuple[Any, str]:
    from patent_platform.clock import china_today
    from provincial.management.commands.seed_scale import national_user
    from verification import services
    from verification.models import MAX_PER_DAY, MAX_PER_MINUTE, VerificationClient

    national = national_user()
    old = VerificationClient.objects.filter(name=CLIENT_NAME).first()
    if old is not None:
        services.client_delete(user=national, client_id=old.pk)
    issued = services.client_create(
        user=national,
        data={
            "name": CLIENT_NAME,
            "organisation": "bench",
            "contact": "",
            "scopes": ["verify:filings"],
            "region": None,
            "per_minute": MAX_PER_MINUTE,
            "per_day": MAX_PER_DAY,
            "valid_until": china_today() + dt.timedelta(days=1),
            "note": "",
        },
    )
    basic = base64.b64encode(f"{issued.client.client_id}:{issued.secret}".encode()).decode()
    response = Client().post(
        "/api/v1/verify/token/",
        data=urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    if response.status_code != 200:
        raise RuntimeError(f"the token endpoint answered {response.status_code}: {response.content[:300]!r}")
    return national, response.json()["access_token"]


def bench_verify(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from filings.models import Product

    national, token = client_and_token()
    number = Product.objects.public().order_by("pk").values_list("filing_number", flat=True).first()
    if number is None:
        raise RuntimeError("no filed product to verify: seed first")
    path = f"/api/v1/verify/filings/{number}/"
    served = throughput_pair_with_headers(args, national, path, {"Authorization": f"Bearer {token}"}, log)
    return [
        Result(
            name="verification API (a client verifying a filing number)",
            platform=served["platform"],
            baseline=served["baseline"],
            ratio=served["ratio"],
            ratio_text=f"{served['ratio'] * 100:.1f} % of its throughput",
            goal=0.3,
            goal_text="≥ 30 % of its throughput",
            platform_mb=served["platform_mb"],
            baseline_mb=served["baseline_mb"],
            note=served["note"],
        )
    ]
