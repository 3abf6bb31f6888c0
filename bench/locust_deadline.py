"""The deadline day, as locust plays it (issue 21, part 5): run by `bench/deadline.py`, never imported by the
platform or the tests (locust patches the standard library with gevent when imported).

Who comes, in these proportions (the `weight` of each user class, out of 100):
- 40 the public: searches by a common word, by a unit's name and by a filing number, opens product pages
  (the QR code of a receipt or a label leads there);
- 30 enterprises: log in (the login page, its CSRF token, the password), look at their filings, open a
  draft, save its form as the browser sends it, and submit it for review;
- 15 enterprise systems on the API (a token): re-sync their product list (first page, then changed since
  yesterday), read one product, submit a draft with an `Idempotency-Key`;
- 10 ports: log in, open the port dashboard and the product list of the province;
- 5 outside offices verifying a filing number on the verification API (an OAuth2 client's bearer token).

`BareUser` alone is the baseline run: every request the bare Django response. The plan (accounts, drafts,
tokens, queries) comes from the JSON file in DEADLINE_PLAN, written by bench/deadline.py before the run.
A response counts as a failure when its status is not the one the step expects, or when a page that should
have moved on (a saved form, a submission) shows the form again with an error.
"""

# ruff: noqa: S311 - random picks the next page to ask for, nothing secret
from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from locust import FastHttpUser, between, constant, task

PLAN: dict[str, Any] = {}
if os.environ.get("DEADLINE_PLAN"):
    with open(os.environ["DEADLINE_PLAN"], encoding="utf-8") as handle:
        PLAN = json.load(handle)

# Think time between a user's requests: none for the bench (closed loop, the server's capacity); the CI test of
# the scenario gives one (DEADLINE_WAIT seconds, at most) so that it leaves a core to the tests beside it.
WAIT = float(os.environ.get("DEADLINE_WAIT") or 0)
THINK = between(0, WAIT) if WAIT else constant(0)
TAKEN = {"enterprises": itertools.count(), "api": itertools.count(), "ports": itertools.count()}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class FormFields(HTMLParser):
    """The fields a browser would send for the form with the given action: inputs, selected options,
    textareas (file inputs left empty, as a browser sends a form with no new file chosen)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []
        self.select: str | None = None
        self.textarea: str | None = None
        self.first_option: tuple[str, str] | None = None
        self.chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "") in ("", self.action)
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type", "text") not in ("file", "submit", "button", "image", "reset"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select" and name:
            self.select, self.first_option, self.chosen = name, None, False
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = (self.select, value)
            if "selected" in a:
                self.fields.append((self.select, value))
                self.chosen = True
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            if self.select and not self.chosen and self.first_option is not None:
                self.fields.append(self.first_option)
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    parser = FormFields(action)
    parser.feed(html)
    return parser.fields


def take(pool: str) -> tuple[dict[str, Any], bool]:
    """The next account of the pool (locust's users run in one process: the counter is shared), and whether
    the account is this user's own: drafts are worked on by one user only, so that no two users submit the
    same draft; users beyond the accounts sign in to one already taken and only read."""
    index = next(TAKEN[pool])
    return PLAN[pool][index % len(PLAN[pool])], index < len(PLAN[pool])


class Signed(FastHttpUser):
    """A user who signs in through the login page (the CSRF token, then the password)."""

    abstract = True
    wait_time = THINK
    account: dict[str, Any]

    def sign_in(self, pool: str) -> None:
        self.account, self.own = take(pool)
        with self.client.get("/accounts/login/", name="login page", catch_response=True) as page:
            token = CSRF.search(page.text or "")
            if page.status_code != 200 or token is None:
                page.failure(f"login page {page.status_code}")
                return
        data = {"csrfmiddlewaretoken": token.group(1), "username": self.account["email"], "password": PLAN["password"]}
        with self.client.post(
            "/accounts/login/", data=data, name="log in", allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"log in answered {answer.status_code}")


class PublicUser(FastHttpUser):
    weight = 40
    wait_time = THINK

    @task(3)
    def search_word(self) -> None:
        self.client.get(f"/products/?q={quote(random.choice(PLAN['words']))}", name="search: a word")

    @task(1)
    def search_unit(self) -> None:
        self.client.get(f"/products/?q={quote(random.choice(PLAN['unit_names']))}", name="search: a unit's name")

    @task(2)
    def search_number(self) -> None:
        self.client.get(f"/products/?q={random.choice(PLAN['filing_numbers'])}", name="search: a filing number")

    @task(4)
    def product_page(self) -> None:
        self.client.get(f"/products/{random.choice(PLAN['filing_numbers'])}/", name="product page")


class EnterpriseUser(Signed):
    weight = 30

    def on_start(self) -> None:
        self.sign_in("enterprises")
        self.drafts = list(self.account["drafts"]) if self.own else []
        random.shuffle(self.drafts)
        self.edit_and_save()  # a filer signs in to work on a draft: the first thing done

    @task(3)
    def home(self) -> None:
        self.client.get("/enterprise/", name="enterprise: my filings")

    @task(2)
    def edit_and_save(self) -> None:
        if not self.drafts:
            return
        version = self.drafts[-1]
        url = f"/enterprise/versions/{version}/edit/"
        with self.client.get(url, name="enterprise: edit form", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"edit form {page.status_code}")
                return
            fields = form_fields(page.text or "", url)
        with self.client.post(
            url, data=fields, name="enterprise: save", allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"save answered {answer.status_code}")

    @task(1)
    def submit(self) -> None:
        if not self.drafts:
            return
        version = self.drafts.pop()
        with self.client.get(
            f"/enterprise/versions/{version}/", name="enterprise: version page", catch_response=True
        ) as page:
            token = CSRF.search(page.text or "")
            if page.status_code != 200 or token is None:
                page.failure(f"version page {page.status_code}")
                return
        with self.client.post(
            f"/enterprise/versions/{version}/submit/",
            data={"csrfmiddlewaretoken": token.group(1)},
            name="enterprise: submit",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"submit answered {answer.status_code}")


class ApiUser(FastHttpUser):
    weight = 15
    wait_time = THINK

    def on_start(self) -> None:
        self.account, own = take("api")
        self.headers = {"Authorization": f"Token {self.account['token']}", "Accept": "application/json"}
        self.drafts = list(self.account["drafts"]) if own else []

    @task(3)
    def list_products(self) -> None:
        self.client.get("/api/v1/products/", headers=self.headers, name="API: product list")

    @task(2)
    def changed_since(self) -> None:
        self.client.get(
            f"/api/v1/products/?updated_since={PLAN['yesterday']}", headers=self.headers, name="API: changed since"
        )

    @task(2)
    def one_product(self) -> None:
        self.client.get(
            f"/api/v1/products/{random.choice(self.account['products'])}/", headers=self.headers, name="API: product"
        )

    @task(1)
    def submit(self) -> None:
        if not self.drafts:
            return
        product = self.drafts.pop()
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
        with self.client.post(
            f"/api/v1/products/{product}/submit/", data="{}", headers=headers, name="API: submit", catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"API submit answered {answer.status_code}: {(answer.text or '')[:200]}")


class PortUser(Signed):
    weight = 10

    def on_start(self) -> None:
        self.sign_in("ports")

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/port/", name="port: dashboard")

    @task(1)
    def products(self) -> None:
        self.client.get("/port/products/", name="port: product list")


class VerifierUser(FastHttpUser):
    weight = 5
    wait_time = THINK

    @task
    def verify(self) -> None:
        self.client.get(
            f"/api/v1/verify/filings/{random.choice(PLAN['filing_numbers'])}/",
            headers={"Authorization": f"Bearer {PLAN['verify_token']}"},
            name="verification API",
        )


class BareUser(FastHttpUser):
    """The baseline run only: the runs name their classes (`locust … BareUser`)."""

    weight = 1
    wait_time = THINK

    @task
    def bare(self) -> None:
        self.client.get("/bench/bare/", name="bare response")
