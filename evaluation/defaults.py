"""The default method version shipped with the platform: its reading of T/PPAC 402-2022.

The national office may change it; a change makes a new version (old results keep theirs). It is
reference data: created by migration 0002 and, should it be missing (a flushed database), again by
`manage.py load_reference`. The function takes the model classes so that the migration can pass its
historical models.
"""

from typing import Any

CODE = "PPAC402-平台解读-1"
STATEMENT = (
    "本版本是平台对团体标准 T/PPAC 402-2022《企业专利密集型产品评价方法》的解读：按标准所述专利密集型产品的四个特征"
    "——专利保护强度、专利价值贡献、竞争力对专利依赖度、经济效益——设置指标，各指标依据企业备案数据计算，"
    "与同一产品分类、同一数据年度的基准值比较。标准原文的具体指标、公式和基准值推导方法平台未能获得，"
    "以下指标、公式与达标规则不是标准原文，国家知识产权局可随时调整；调整形成新的版本，已完成的评价结果保留其所用版本。"
    "达标规则：四个特征中每个特征至少 1 项指标达到基准值，且达到基准值的指标合计不少于 5 项（共 10 项）。"
    "产业性评价：每个产品由不少于 3 位与企业不同省、不同单位的专家按评分表打分，取算术平均，70 分及以上为通过。"
)

# (code, name, trait, unit, formula)
INDICATORS = [
    ("P1", "有效发明专利数", "protection", "件", "valid_invention_patents"),
    ("P2", "核心专利数", "protection", "件", "core_patents"),
    ("P3", "核心专利平均剩余保护期", "protection", "年", "core_remaining_years"),
    ("V1", "专利贡献度合计", "value", "%", "total_contribution"),
    ("V2", "专利贡献销售额", "value", "万元", "patent_sales"),
    ("D1", "发明专利占比", "dependence", "%", "invention_share"),
    ("D2", "每亿元销售额关联专利数", "dependence", "件/亿元", "patents_per_100m"),
    ("E1", "上年度销售额", "benefit", "万元", "sales"),
    ("E2", "年度出口额", "benefit", "万元", "exports"),
    ("E3", "销售额增长率", "benefit", "%", "growth"),
]


def create_default_method(method_model: Any, indicator_model: Any) -> bool:
    """Create the default version (active only if no other version is); returns whether it was created."""
    if method_model.objects.filter(code=CODE).exists():
        return False
    method = method_model.objects.create(
        code=CODE,
        name="T/PPAC 402-2022 平台解读（第 1 版）",
        statement=STATEMENT,
        status="draft" if method_model.objects.filter(status="active").exists() else "active",
        min_passed_per_trait=1,
        min_passed_total=5,
        default_percentile=50,
        score_rule="mean",
        expert_pass_score=70,
    )
    indicator_model.objects.bulk_create(
        indicator_model(
            method=method, code=code, name=name, trait=trait, unit=unit, formula=formula, direction="higher", order=i
        )
        for i, (code, name, trait, unit, formula) in enumerate(INDICATORS, start=1)
    )
    return True


def ensure_default_method() -> bool:
    from evaluation.models import Indicator, MethodVersion

    return create_default_method(MethodVersion, Indicator)
