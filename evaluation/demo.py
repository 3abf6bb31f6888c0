"""Demo data of the certification: nine experts in three panels, benchmarks for the last data year, one finished round.

Called by `manage.py load_demo` after the demo filings exist; running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.utils import timezone

from evaluation import industry, methods, publicity, rounds
from evaluation.choices import BenchmarkStatus
from evaluation.models import BenchmarkSet, ExpertProfile, MethodVersion, Round
from filings.choices import FilingStatus
from filings.models import ProductClass, ProductVersion, UnitMembership
from patent_platform.choices import Role
from patent_platform.clock import china_today
from patent_platform.models import User

# (e-mail, name, organisation, province code, title): three panels of three, none from the provinces of the
# demo's filers (Guangdong, Zhejiang), all of different organisations. The assignment takes the least loaded
# experts first, so the demo round's three products get disjoint panels: an expert sees the products of
# their panel and not the others (expert4@example.cn is left to the tests: an expert with no assignment).
EXPERTS = [
    ("expert1@example.cn", "赵启明（演示专家）", "清华大学", "110000", "教授"),
    ("expert2@example.cn", "钱立新（演示专家）", "上海交通大学", "310000", "研究员"),
    ("expert3@example.cn", "孙维华（演示专家）", "东南大学", "320000", "高级工程师"),
    ("expert5@example.cn", "李文博（演示专家）", "武汉大学", "420000", "教授"),
    ("expert6@example.cn", "周海燕（演示专家）", "四川大学", "510000", "研究员"),
    ("expert7@example.cn", "吴志刚（演示专家）", "西安交通大学", "610000", "教授"),
    ("expert8@example.cn", "郑晓东（演示专家）", "南开大学", "120000", "教授"),
    ("expert9@example.cn", "王丽君（演示专家）", "山东大学", "370000", "高级工程师"),
    ("expert10@example.cn", "冯国强（演示专家）", "大连理工大学", "210000", "研究员"),
]
DEMO_FALLBACK = {"growth": Decimal(10), "core_remaining_years": Decimal(8)}
# the demo experts' scores (technology /30, market /30, patent /25, benefit /15)
DEMO_SCORES = [("26", "25", "21", "12"), ("24", "27", "20", "13"), ("27", "24", "22", "11")]


def load_experts(password: str) -> list[User]:
    experts = []
    classes = list(ProductClass.objects.filter(is_active=True))
    for email, name, organisation, province, title in EXPERTS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, password, full_name=name, role=Role.EXPERT, email_confirmed_at=timezone.now()
            )
        profile, created = ExpertProfile.objects.get_or_create(
            user=user, defaults={"organisation": organisation, "province_code": province, "title": title}
        )
        if created:
            profile.classes.set(classes)
        experts.append(user)
    return experts


def fix_benchmarks(national: User, data_year: int) -> list[BenchmarkSet]:
    """Suggested and fixed benchmark sets for every class with approved filings of the year."""
    method = cast(MethodVersion, MethodVersion.active())  # the standard's method, active from the migrations on
    fixed = []
    class_ids = (
        ProductVersion.objects.filter(data_year=data_year, status=FilingStatus.APPROVED)
        .values_list("product_class_id", flat=True)
        .distinct()
    )
    for product_class in ProductClass.objects.filter(pk__in=list(class_ids)):
        existing = BenchmarkSet.objects.filter(
            method=method, product_class=product_class, data_year=data_year, status=BenchmarkStatus.FIXED
        ).first()
        if existing:
            fixed.append(existing)
            continue
        bset = methods.benchmark_set_create(
            method=method, product_class=product_class, data_year=data_year, user=national
        )
        # indicators the sample cannot give (growth needs a previous year) get the demo's own value
        manual = {
            b.indicator_id: DEMO_FALLBACK.get(b.indicator.formula, Decimal(0))
            for b in bset.values.select_related("indicator")
            if b.value is None
        }
        if manual:
            methods.benchmark_set_update_values(
                bset=bset, user=national, values=manual, note="样本不足的指标由国家局手工填写（演示）"
            )
        fixed.append(methods.benchmark_set_fix(bset=bset, user=national))
    return fixed


def run_demo_round(national: User, experts: list[User], data_year: int) -> Round | None:
    """A round walked to its end: evaluated, information added, scored, published, final."""
    if Round.objects.filter(data_year=data_year).exists():
        return None
    today = china_today()
    rnd = rounds.round_start(
        user=national, name=f"{data_year} 年度专利密集型产品认定（第一批，演示）", data_year=data_year, deadline=today
    )
    rounds.round_evaluate(
        round_id=rnd.pk
    )  # the task ran on commit already when eager; running it again changes nothing
    rnd.refresh_from_db()
    if not rnd.candidates.filter(patent_passed=True).exists():
        return rnd
    rounds.round_request_information(rnd=rnd, user=national, due=today + dt.timedelta(days=14))
    for candidate in rnd.candidates.filter(status="info_requested").select_related("version", "unit"):
        filer = cast(UnitMembership, candidate.unit.memberships.select_related("user").first()).user
        rounds.information_submit(
            candidate_id=candidate.pk,
            user=filer,
            data={
                "market_position": f"{candidate.version.name}国内市场占有率位居前列（演示数据）。",
                "technology": "核心技术达到国内领先水平，已通过第三方检测（演示数据）。",
                "patent_use": "核心专利全部实施于产品，建立了专利预警和维权机制（演示数据）。",
            },
        )
    industry.industry_evaluation_start(
        rnd=rnd, user=national, reason="演示：全部企业已提交补充材料，提前开始产业性评价。"
    )
    for i, expert in enumerate(experts):
        scores = DEMO_SCORES[i % len(DEMO_SCORES)]
        for assignment in expert.assignments.filter(candidate__round=rnd):
            industry.score_submit(
                assignment_id=assignment.pk,
                user=expert,
                scores=dict(zip(("technology", "market", "patent", "benefit"), scores, strict=True)),
                comments="产品技术先进，专利对产品竞争力支撑明显（演示评审意见）。",
            )
    # the publicity ran in the past, so the demo round is finished today
    publicity.round_publicity_start(rnd=rnd, user=national, days=5, start=today - dt.timedelta(days=10))
    rounds.round_finalize(rnd=rnd, user=national, today=today)
    return rnd


def load_demo_evaluation(national: User, password: str, data_year: int) -> dict[str, Any]:
    experts = load_experts(password)
    sets = fix_benchmarks(national, data_year)
    rnd = run_demo_round(national, experts, data_year)
    return {
        "experts": len(experts),
        "benchmark_sets": len(sets),
        "round": rnd,
        "certified": rnd.candidates.filter(status="certified").count() if rnd else 0,
    }
