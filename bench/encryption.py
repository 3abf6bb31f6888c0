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

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.test import Client

from bench.cases import PORT, getter, port_admin
from bench.runner import Result, peak_mb, reset_peak

PERSONAL_MODELS = ("filings.FilingUnit", "patent_platform.User")


def _set_plaintext(plain: bool) -> float:
    from django.apps import apps

    from patent_platform.encrypted_fields import encrypt_rows

    started = time.perf_counter()
    for label in PERSONAL_MODELS:
        encrypt_rows(apps.get_model(label), batch_size=2000, reverse=plain)
    return time.perf_counter() - started


def _times(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """(CPU seconds of this process, wall seconds) of `repeat` calls after a warm-up. The in-process client
    runs the whole request in this process, so its CPU time holds the decryption and leaves out what the
    other processes of a shared machine do; the database's own time is the same rows on both sides."""
    fn()
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return cpu, wall


def bench_encryption(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from django.urls import reverse

    from filings.models import FilingUnit
    from provincial.management.commands.seed_scale import national_user

    national = national_user()
    port_user = port_admin()
    api_client, port_client = Client(), Client()
    api_client.force_login(national)
    port_client.force_login(port_user)
    api = getter(api_client, "/api/v1/products/")
    export_url = reverse("port:units_export")
    export = getter(port_client, export_url)
    units = FilingUnit.objects.filter(province_code=PORT).count()
    cpu: dict[str, list[float]] = {k: [] for k in ("api_on", "api_off", "export_on", "export_off")}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    peaks: dict[str, float] = {}
    toggled: dict[bool, list[float]] = {False: [_set_plaintext(False)], True: []}  # a dataset seeded before the
    # encryption is encrypted now. A, B, B, A: encrypted, plaintext, plaintext, encrypted — a load that drifts
    # during the run (this machine is shared) weighs on both sides alike
    state = False
    for plain in (False, True, True, False):
        if plain != state:
            toggled[plain].append(_set_plaintext(plain))
            state = plain
        side = "off" if plain else "on"
        for key, fn, repeat in (("api", api, args.repeat), ("export", export, max(2, args.repeat // 2))):
            reset_peak()
            c, w = _times(fn, repeat)
            cpu[f"{key}_{side}"] += c
            wall[f"{key}_{side}"] += w
            peaks[f"{key}_{side}"] = max(peaks.get(f"{key}_{side}", 0.0), peak_mb())
    plain_s, encrypt_s = max(toggled[True]), max(toggled[False])
    log(f"… encryption: plaintext in {plain_s:.1f} s, encrypted in {encrypt_s:.1f} s (the slowest of each)")
    rows = []
    for key, name, path, goal in (
        ("api", "field encryption: product list API (national, first page of 50)", "/api/v1/products/", 1.10),
        ("export", f"field encryption: unit export (广东, {units:,} units with contacts)", export_url, 1.25),
    ):
        on_s, off_s = statistics.median(cpu[f"{key}_on"]), statistics.median(cpu[f"{key}_off"])
        on_w, off_w = statistics.median(wall[f"{key}_on"]), statistics.median(wall[f"{key}_off"])
        on_mb, off_mb = peaks[f"{key}_on"], peaks[f"{key}_off"]
        ratio = on_s / off_s
        rows.append(
            Result(
                name=name,
                platform=f"GET {path}, personal data encrypted: {on_s * 1000:.1f} ms CPU (median, in-process, A-B-B-A)",
                baseline=f"the same rows in plaintext: {off_s * 1000:.1f} ms CPU",
                ratio=ratio,
                ratio_text=f"{ratio:.2f}× the time without encryption",
                goal=goal,
                goal_text=f"≤ {goal:.2f}×",
                platform_mb=on_mb,
                baseline_mb=off_mb,
                lower_is_better=True,
                note="SM4-GCM (OpenSSL through `cryptography`) per value read; the same requests on the same rows, "
                f"{units:,} units in the export; wall time {on_w * 1000:.0f} vs {off_w * 1000:.0f} ms "
                f"({on_w / off_w:.2f}×, noisy on a shared machine); the rows turned plaintext and encrypted again "
                f"around the measurement ({plain_s:.1f} s / {encrypt_s:.1f} s for units and users)",
            )
        )
    return rows
