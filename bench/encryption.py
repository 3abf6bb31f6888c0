"""The cost of field encryption (issue 22 part 1, patent_platform/fieldcrypto.py): the product list API and the
port's unit export (广东, every unit of the province with its contact: three SM4-GCM values decrypted per row)
with the personal data stored encrypted, against the same requests on the same rows stored in plaintext,
measured in the same run.

Plaintext here is the state before the migration: the columns hold the values themselves, which the fields
read back as they are (fieldcrypto.decrypt passes a non-token through), so both sides run the same code but
for the decryption. The rows are turned plaintext for the measurement and encrypted again after it
(`encrypted_fields.encrypt_rows`, the migrations' own batches), so the dataset is left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.test import Client

from bench.cases import PORT, _getter, _port_admin
from bench.runner import Result, median_time

PERSONAL_MODELS = ("filings.FilingUnit", "patent_platform.User")


def _set_plaintext(plain: bool) -> float:
    from django.apps import apps

    from patent_platform.encrypted_fields import encrypt_rows

    started = time.perf_counter()
    for label in PERSONAL_MODELS:
        encrypt_rows(apps.get_model(label), batch_size=2000, reverse=plain)
    return time.perf_counter() - started


def bench_encryption(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from django.urls import reverse

    from filings.models import FilingUnit
    from provincial.management.commands.seed_scale import national_user

    national = national_user()
    port_user = _port_admin()
    api_client, port_client = Client(), Client()
    api_client.force_login(national)
    port_client.force_login(port_user)
    api = _getter(api_client, "/api/v1/products/")
    export_url = reverse("port:units_export")
    export = _getter(port_client, export_url)
    units = FilingUnit.objects.filter(province_code=PORT).count()
    figures: dict[str, tuple[float, float]] = {}
    encrypt_s = _set_plaintext(False)  # a dataset seeded before the encryption: encrypted now
    log(f"… encryption: rows encrypted in {encrypt_s:.1f} s")
    figures["api_on"] = median_time(api, args.repeat)
    figures["export_on"] = median_time(export, max(3, args.repeat // 2))
    plain_s = _set_plaintext(True)
    try:
        figures["api_off"] = median_time(api, args.repeat)
        figures["export_off"] = median_time(export, max(3, args.repeat // 2))
    finally:
        encrypt_s = _set_plaintext(False)
    log(f"… encryption: plaintext in {plain_s:.1f} s, encrypted again in {encrypt_s:.1f} s")
    rows = []
    for key, name, path, goal in (
        ("api", "field encryption: product list API (national, first page of 50)", "/api/v1/products/", 1.10),
        ("export", f"field encryption: unit export (广东, {units:,} units with contacts)", export_url, 1.50),
    ):
        on_s, on_mb = figures[f"{key}_on"]
        off_s, off_mb = figures[f"{key}_off"]
        ratio = on_s / off_s
        rows.append(
            Result(
                name=name,
                platform=f"GET {path}, personal data encrypted: {on_s * 1000:.0f} ms (median, in-process)",
                baseline=f"the same rows in plaintext: {off_s * 1000:.0f} ms",
                ratio=ratio,
                ratio_text=f"{ratio:.2f}× the time without encryption",
                goal=goal,
                goal_text=f"≤ {goal:.2f}×",
                platform_mb=on_mb,
                baseline_mb=off_mb,
                lower_is_better=True,
                note="SM4-GCM (OpenSSL through `cryptography`) per value read; the same requests on the same rows, "
                f"{units:,} units in the export; the rows turned plaintext and encrypted again around the "
                f"measurement ({plain_s:.1f} s / {encrypt_s:.1f} s for units and users)",
            )
        )
    return rows
