"""A real OpenID Provider on loopback (tests/oidc/provider.mjs: the certified `oidc-provider` npm package, from
package.json's devDependencies, installed by `npm ci` in `make assets`), started once per test module on a free
port and stopped after it. Tests marked `oidc` need node and the package: outside CI a missing one skips the
test with the reason, under CI=true it fails (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.test import Client

from filings.identifiers import build_uscc
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
SECRET = "oidc-test-secret-0123456789abcdef"
PROVIDER_IDS = ("gov", "elicence", "untrusted")

# The people the provider knows (its development login form takes any password for them).
USCC_NEW = build_uscc(region_code="440106", org_body="MA59QD01")  # no unit registered with it
USCC_REGISTERED = build_uscc(region_code="440106", org_body="MA59QD02")  # a unit registered, not verified
ACCOUNTS: dict[str, dict[str, Any]] = {
    "bureau-gd": {"email": "gd-bureau@example.cn", "email_verified": True, "name": "广东局经办人", "region": "440000"},
    # its login at the provider reaches the level the platform accepts in place of its own TOTP (acr)
    "bureau-mfa": {
        "email": "gd-mfa@example.cn",
        "email_verified": True,
        "name": "广东局经办人二",
        "acr": "urn:gd:loa:3",
    },
    "bureau-unverified": {"email": "gd-bureau@example.cn", "email_verified": False, "name": "冒名者"},
    "ent-new": {
        "email": "oidc-new@example.cn",
        "email_verified": True,
        "name": "新企业经办人",
        "uscc": USCC_NEW,
        "org_name": "广州统一认证测试科技有限公司",
        "region": "440106",
    },
    "ent-registered": {
        "email": "oidc-member@example.cn",
        "email_verified": True,
        "name": "已注册企业经办人",
        "uscc": USCC_REGISTERED,
        "org_name": "广州已注册测试科技有限公司",
    },
}


@dataclass(frozen=True)
class OpenIDProvider:
    issuer: str

    def config(self, pid: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": pid,
            "name": {"gov": "广东省统一身份认证平台", "elicence": "电子营业执照", "untrusted": "某第三方登录"}[pid],
            "issuer": self.issuer,
            "client_id": f"platform-{pid}",
            "client_secret": SECRET,
            "scopes": "openid email profile org",
            **extra,
        }


@pytest.fixture(scope="module")
def openid_provider() -> Iterator[OpenIDProvider]:
    node = os.environ.get("NODE", "node")
    config = {
        "port": 0,
        "clients": [
            {
                "client_id": f"platform-{pid}",
                "client_secret": SECRET,
                "redirect_uris": [f"http://testserver/accounts/oidc/{pid}/callback/"],
            }
            for pid in PROVIDER_IDS
        ],
        "accounts": ACCOUNTS,
    }
    process = subprocess.Popen(
        [node, str(SCRIPT)],
        cwd=ROOT,
        env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.match(r"listening (\S+)", line)
        if not match:
            raise RuntimeError(f"the OpenID provider did not start: {line!r} (exit {process.poll()})")
        yield OpenIDProvider(issuer=match.group(1))
    finally:
        stop([process])


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input([^>]*)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def _fill(html: str, login: str) -> tuple[str, dict[str, str]]:
    """The provider's page's form (its development login form or its consent form), filled."""
    match = _FORM.search(html)
    assert match, f"no form on the provider's page: {html[:500]}"
    data = {}
    for raw in _INPUT.findall(match.group(2)):
        attrs = dict(_ATTR.findall(raw))
        if "name" in attrs:
            data[attrs["name"]] = attrs.get("value", "")
    if "login" in data:
        data.update(login=login, password="any")
    return match.group(1), data


def provider_login(client: Client, provider_id: str, login: str, *, next_url: str = "") -> Any:
    """The browser's round trip: the platform's button, the provider's login and consent pages over real HTTP,
    and back to the platform's callback; returns the platform's answer to the callback."""
    start = client.get(f"/accounts/oidc/{provider_id}/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content[:500]
    browser = requests.Session()
    location = start["Location"]
    for _ in range(12):
        if urlsplit(location).hostname == "testserver":
            parts = urlsplit(location)
            return client.get(f"{parts.path}?{parts.query}")
        response = browser.get(location, allow_redirects=False, timeout=10)
        while response.status_code == 200:
            action, data = _fill(response.text, login)
            response = browser.post(urljoin(response.url, action), data=data, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        location = urljoin(response.url, response.headers["Location"])
    raise AssertionError("the provider never sent the browser back")
