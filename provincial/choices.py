from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("省级")
    XPCC = "xpcc", _("新疆生产建设兵团")
    CITY = "city", _("副省级城市")


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交待审核")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已批准，端口已开通")


class RosterCategory(models.TextChoices):
    """The target rosters of the notice (DOMAIN.md §1): dated reference data, imported per year."""

    NATIONAL_ADVANTAGE = "national_advantage", _("国家知识产权优势企业")
    NATIONAL_DEMONSTRATION = "national_demonstration", _("国家知识产权示范企业")
    LOCAL_ADVANTAGE = "local_advantage", _("地方知识产权优势企业")
    LOCAL_DEMONSTRATION = "local_demonstration", _("地方知识产权示范企业")
    AWARD_PROVINCE = "award_province", _("奖补省份政策受益企业")
    KEY_CITY = "key_city", _("重点城市政策受益企业")
    LITTLE_GIANT = "little_giant", _("专精特新“小巨人”企业")
    PROVINCIAL_SPECIALIZED = "provincial_specialized", _("省级专精特新中小企业")


class PublicationKind(models.TextChoices):
    MONTHLY = "monthly", _("月度备案数据")
    YEAREND = "yearend", _("年度成效评价")


class PublicationStatus(models.TextChoices):
    PENDING = "pending", _("待生成")
    BUILDING = "building", _("生成中")
    READY = "ready", _("已生成")
    FAILED = "failed", _("生成失败")


class ReportCategory(models.TextChoices):
    """Categories of a locality's progress report (工作报送, notice §3)."""

    PROGRESS = "progress", _("工作进展")
    PROBLEM = "problem", _("存在问题")
    GOOD_PRACTICE = "good_practice", _("经验做法")
    POLICY = "policy", _("出台政策")


class SignoffState(models.TextChoices):
    """A port's month after it closes (issue 20): not yet answered, signed off, or a problem noted."""

    OPEN = "open", _("尚未确认")
    SIGNED = "signed", _("已确认")
    PROBLEM = "problem", _("反馈问题")


class FollowUpKind(models.TextChoices):
    """What a port sends to an enterprise on a roster that has not filed (provincial/followup.py)."""

    REMINDER = "reminder", _("提醒备案")
    INVITATION = "invitation", _("邀请注册备案")


class SubscriptionKind(models.TextChoices):
    """What a subscription delivers (provincial/subscriptions.py)."""

    ANALYSIS = "analysis", _("保存的分析")
    DASHBOARD = "dashboard", _("统计概览")


class SubscriptionFrequency(models.TextChoices):
    MONTHLY = "monthly", _("每月")
    WEEKLY = "weekly", _("每周")


class SubscriptionFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel（XLSX）")
    PDF = "pdf", _("PDF（便于阅读和打印）")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待生成")
    BUILDING = "building", _("生成中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("生成失败")
    SKIPPED = "skipped", _("未发送（订阅已停用）")
