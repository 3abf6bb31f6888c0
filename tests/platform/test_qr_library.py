"""One QR library (segno, issue 23): django-otp's TOTP device admin is replaced by ours, whose QR code segno
draws; nothing imports `qrcode`, and the project no longer depends on it."""

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from patent_platform.choices import Role
from patent_platform.models import User

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_does_not_depend_on_qrcode() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in deps if d.lower().startswith("qrcode")]
    assert "qrcode==" not in (ROOT / "constraints.txt").read_text()


def test_setup_the_urls_and_the_admin_import_no_qrcode() -> None:
    code = (
        "import sys, django; django.setup(); import patent_platform.urls; from django.contrib import admin; "
        "admin.autodiscover(); from django_otp.plugins.otp_totp.models import TOTPDevice; "
        "print(type(admin.site._registry[TOTPDevice]).__name__, 'qrcode' in sys.modules)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "patent_platform.settings.test"),
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PlatformTOTPDeviceAdmin", "False"]


def test_the_admin_registers_our_totp_device_admin() -> None:
    assert type(admin.site._registry[TOTPDevice]).__name__ == "PlatformTOTPDeviceAdmin"


@pytest.mark.django_db
def test_the_admin_qr_code_is_an_svg_drawn_without_qrcode(make_user: Callable[..., User]) -> None:
    root = User.objects.create_superuser("root-qr@example.cn", "Root-Pass-2026!")
    device = TOTPDevice.objects.create(user=root, name="TOTP", confirmed=True)
    client = Client()
    client.force_login(root)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # the second factor passed (as django_otp.login sets it)
    session.save()
    url = reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk])
    with mock.patch.dict(sys.modules, {"qrcode": None}):  # `import qrcode` fails inside this block
        response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    config = client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk]))
    assert config.status_code == 200
    assert url in config.content.decode()
    # the system administrator uses the admin site but never sees a TOTP secret
    system = make_user("system-qr@example.cn", Role.SYSTEM_ADMIN, is_staff=True)
    other = Client()
    other.force_login(system)
    assert other.get(url).status_code in (403, 404)
