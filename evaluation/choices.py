"""Choices of the evaluation app (T/PPAC 402-2022 method, benchmarks, certification rounds)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Trait(models.TextChoices):
    """The standard's four traits of a patent-intensive product (DOMAIN.md §3)."""

    PROTECTION = "protection", _("专利保护强度")
    VALUE = "value", _("专利价值贡献")
    DEPENDENCE = "dependence", _("竞争力对专利依赖度")
    BENEFIT = "benefit", _("经济效益")


class Standard(models.TextChoices):
    """The standard a method version implements (DOMAIN.md §3, §6). The value is the designation."""

    PPAC_402_2022 = "T/PPAC 402-2022", _("T/PPAC 402-2022《企业专利密集型产品评价方法》（团体标准）")
    GBT_46961_2025 = "GB/T 46961-2025", _("GB/T 46961-2025《专利密集型产品评价方法》（国家标准）")
    OTHER = "other", _("其他标准")


class Direction(models.TextChoices):
    HIGHER = "higher", _("越高越好（不低于基准值为达标）")
    LOWER = "lower", _("越低越好（不高于基准值为达标）")


class MethodStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ACTIVE = "active", _("现行")
    RETIRED = "retired", _("已停用")


class ScoreRule(models.TextChoices):
    # blank (not yet entered) is allowed on a draft: a method version is not complete without it
    MEAN = "mean", _("算术平均")
    TRIMMED_MEAN = "trimmed_mean", _("去掉一个最高分和一个最低分后平均（不少于 5 位专家时）")


class BenchmarkStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    FIXED = "fixed", _("已确定")


class Stage(models.TextChoices):
    PATENT = "patent", _("专利性评价")
    INFO = "info", _("补充材料")
    INDUSTRY = "industry", _("产业性评价")
    PUBLICITY = "publicity", _("公示")
    FINAL = "final", _("已公布认定结果")


STAGE_ORDER: list[str] = [Stage.PATENT, Stage.INFO, Stage.INDUSTRY, Stage.PUBLICITY, Stage.FINAL]


class CandidateStatus(models.TextChoices):
    PATENT_FAILED = "patent_failed", _("未通过专利性评价")
    PATENT_PASSED = "patent_passed", _("通过专利性评价")
    INFO_REQUESTED = "info_requested", _("待补充材料")
    INFO_SUBMITTED = "info_submitted", _("已补充材料")
    INFO_MISSING = "info_missing", _("未按期补充材料")
    EXPERT_REVIEW = "expert_review", _("专家评审中")
    EXPERT_FAILED = "expert_failed", _("未通过产业性评价")
    PROPOSED = "proposed", _("公示中")
    OBJECTION_UPHELD = "objection_upheld", _("异议成立，不予认定")
    CERTIFIED = "certified", _("已认定")


class WhatIfStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("测算中")
    DONE = "done", _("已完成")
    ERROR = "error", _("测算出错")


class ObjectionStatus(models.TextChoices):
    PENDING = "pending", _("待处理")
    UPHELD = "upheld", _("异议成立")
    DISMISSED = "dismissed", _("异议不成立")


class LockKind(models.TextChoices):
    """The deadline a lock exception lets one product past (evaluation/schedule.py)."""

    CUTOFF = "cutoff", _("申报截止后准予参评")
    INFO = "info", _("补充材料截止后准予补充")


class CertificateStatus(models.TextChoices):
    """A certificate's standing (docs/CERTIFICATION.md, "A certificate's life")."""

    VALID = "valid", _("有效")
    SUSPENDED = "suspended", _("暂停")
    REVOKED = "revoked", _("撤销")
    EXPIRED = "expired", _("有效期届满")


class CertificateCause(models.TextChoices):
    """Why a certificate's status changed (its history)."""

    ISSUED = "issued", _("颁发证书")
    PATENT_ENDED = "patent_ended", _("核心专利失效、期限届满或被宣告无效")
    PATENT_RESTORED = "patent_restored", _("核心专利恢复有效")
    UPDATE_MISSED = "update_missed", _("未在认定批次截止日前提交年度更新")
    UPDATE_FILED = "update_filed", _("已提交年度更新")
    OBJECTION = "objection", _("国家知识产权局撤销（异议成立）")
    FINDING = "finding", _("国家知识产权局撤销（核查发现问题）")
    FILING_REVOKED = "filing_revoked", _("产品备案被撤销")
    FILING_WITHDRAWN = "filing_withdrawn", _("产品备案被撤回")
    EXPIRED = "expired", _("有效期届满")


# The grounds on which the national office revokes a certificate (the revoke page offers these two).
REVOCATION_GROUNDS = (CertificateCause.OBJECTION, CertificateCause.FINDING)
