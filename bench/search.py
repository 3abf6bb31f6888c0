"""The public search's server time (issue 21, "the hot pages"): the search page with a query of each kind
against the same page without one, in-process, median of --repeat requests each, in the same run.

Kinds: a common word (the two characters that start the most published product names), a piece of a unit's
name (its first four characters), a filing number, a patent number (of a published version), a USCC. Goal:
each ≤ 2× the page without a query (filings/search.py: identifiers by their unique indexes, words through
the gram index). Rate limits are off for the measurement (the same client asks hundreds of times).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.test import Client, override_settings

from bench.runner import Result, median_time


def _queries() -> dict[str, str]:
    from filings.models import PatentLink, Product

    public = Product.objects.public()
    names = public.values_list("published_version__name", flat=True)[:5000]
    word = Counter(name[:2] for name in names if name).most_common(1)[0][0]
    product = public.select_related("unit", "published_version").order_by("pk").first()
    if product is None:
        raise RuntimeError("the bench database holds no published product")
    link = PatentLink.objects.filter(version=product.published_version).select_related("right__patent").first()
    queries = {
        "a common word": word,
        "a unit's name": product.unit.name[:4],
        "a filing number": product.filing_number or "",
        "a USCC": product.unit.uscc,
    }
    if link is not None:
        queries["a patent number"] = link.right.patent.patent_number
    return queries


def bench_search(args: Any, log: Callable[[str], Any]) -> list[Result]:
    results = []
    with override_settings(RATE_LIMITS_ENABLED=False):
        client = Client()

        def page(query: str) -> Callable[[], Any]:
            url = "/products/" + (f"?q={quote(query)}" if query else "")

            def get() -> Any:
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}")
                return response

            return get

        page("")()  # warm up
        bare_s, bare_mb = median_time(page(""), args.repeat)
        for kind, query in _queries().items():
            log(f"… search by {kind}: {query}")
            page(query)()
            query_s, query_mb = median_time(page(query), args.repeat)
            ratio = query_s / bare_s
            results.append(
                Result(
                    name=f"public search by {kind}",
                    platform=f"GET /products/?q={query}: {query_s * 1000:.0f} ms (median of {args.repeat}, in-process)",
                    baseline=f"the same page without a query: {bare_s * 1000:.0f} ms",
                    ratio=ratio,
                    ratio_text=f"{ratio:.2f}× its time",
                    goal=2.0,
                    goal_text="≤ 2× the page without a query",
                    platform_mb=query_mb,
                    baseline_mb=bare_mb,
                    lower_is_better=True,
                    note="server time with the in-process client; filings/search.py",
                )
            )
    return results
