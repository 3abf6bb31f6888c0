"""The rules (备案条件与流程) and the user manual per role, as data.

One registry for the pages (`/rules/`, `/manual/`, `/manual/<role>/`), the PDFs and the browser test
that renews the screenshots (tests/browser/test_manual_screenshots.py): every screenshot is listed once,
in `SCREENSHOTS`, with the URL path it shows, the demo account it is taken as, the viewport and the
heading the page must show; a section names its screenshot by `name`.

A path may hold placeholders (`{submitted_version}`) for objects of the demo data; the browser test fills
them, the pages show them as "…".

The texts are the published Chinese document (the notice asks for the rules and an operating manual in
Chinese); the page chrome around them goes through gettext. This module is the lowest layer: it
imports no app (filings, evaluation, provincial) and names their pages by path only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

SCREENS_DIR = "manual/screens"  # under static/
MANIFEST = f"{SCREENS_DIR}/manifest.json"
LAPTOP = (1280, 800)
PHONE = (390, 844)
DEMO_PASSWORD = "Demo-2026!"  # noqa: S105 - of every demo account (provincial/management/commands/load_demo.py)


@dataclass(frozen=True)
class Screenshot:
    name: str  # file name stem: static/manual/screens/<name>.png
    path: str  # the URL path it shows; {placeholders} name demo objects
    account: str | None  # the demo account it is taken as; None: an anonymous visitor
    heading: str  # text the page's first <h1> contains (the test fails otherwise)
    caption: str
    phone: bool = False

    @property
    def viewport(self) -> tuple[int, int]:
        return PHONE if self.phone else LAPTOP

    @property
    def static_path(self) -> str:
        return f"{SCREENS_DIR}/{self.name}.png"

    @property
    def display_path(self) -> str:
        return re.sub(r"\{\w+\}", "…", self.path)


@dataclass(frozen=True)
class Section:
    title: str
    text: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    screenshot: str | None = None  # a name in SCREENSHOTS

    @property
    def shot(self) -> Screenshot | None:
        return SCREENSHOT[self.screenshot] if self.screenshot else None


@dataclass(frozen=True)
class Manual:
    slug: str
    title: str
    audience: str  # who it is for, and the demo accounts to try it with
    summary: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def screenshots(self) -> list[Screenshot]:
        return [s.shot for s in self.sections if s.shot is not None]


# ---------------------------------------------------------------------------------------------------------------
# The screenshots: one list, in the order the browser test takes them (grouped by account).

E_GZ, E_SZ = "ent-gz@example.cn", "ent-sz@example.cn"
REVIEWER, NATIONAL = "reviewer@example.cn", "national@example.cn"
GUANGDONG, SHENZHEN = "guangdong@example.cn", "shenzhen@example.cn"
EXPERT = "expert1@example.cn"
SYSADMIN, SECADMIN, AUDITADMIN = "sysadmin@example.cn", "secadmin@example.cn", "audit@example.cn"

SCREENSHOTS: tuple[Screenshot, ...] = (
    # the public
    Screenshot("public-home", "/", None, "专利产品备案与专利密集型产品认定平台", "平台首页"),
    Screenshot("public-search", "/products/", None, "备案产品查询", "备案产品查询"),
    Screenshot("public-product", "/products/{filing_number}/", None, "车规级微控制器", "备案产品的公开页面"),
    Screenshot("public-certified", "/certified/", None, "专利密集型产品认定名单", "认定产品名单"),
    Screenshot("public-verify", "/certified/verify/{certificate}/", None, "专利密集型产品认定证书查验", "认定证书查验"),
    Screenshot("public-search-phone", "/products/", None, "备案产品查询", "手机上的备案产品查询", phone=True),
    Screenshot(
        "public-statement-verify",
        "/verify/statement/{statement_token}/",
        None,
        "备案情况证明查验",
        "备案情况证明查验",
    ),
    Screenshot("public-open-data", "/open-data/", None, "开放数据", "开放数据"),
    Screenshot("port-apply", "/ports/apply/", None, "申请开通管理端口", "申请开通管理端口"),
    Screenshot("enterprise-register", "/enterprise/register/", None, "注册备案单位", "注册备案单位"),
    Screenshot("login", "/accounts/login/", None, "登录", "登录页面"),
    # enterprise users
    Screenshot("enterprise-home", "/enterprise/", E_SZ, "我的备案", "我的备案：单位信息与备案产品"),
    Screenshot("enterprise-patents", "/enterprise/patents/", E_SZ, "专利管理", "专利管理"),
    Screenshot("enterprise-product-new", "/enterprise/products/new/", E_GZ, "备案新产品", "备案新产品"),
    Screenshot(
        "enterprise-returned",
        "/enterprise/versions/{returned_version}/",
        E_SZ,
        "图像信号处理芯片",
        "被退回的备案：退回理由显示在对应字段旁",
    ),
    Screenshot("enterprise-imports", "/enterprise/imports/", E_GZ, "Excel 批量导入", "Excel 批量导入"),
    Screenshot("enterprise-members", "/enterprise/members/", E_GZ, "单位成员", "单位成员"),
    Screenshot("enterprise-certification", "/certification/mine/", E_SZ, "专利密集型产品认定", "产品认定"),
    Screenshot("enterprise-statements", "/statements/mine/", E_SZ, "备案情况证明", "本单位的备案情况证明"),
    Screenshot("enterprise-home-phone", "/enterprise/", E_SZ, "我的备案", "手机上的“我的备案”", phone=True),
    # platform reviewers
    Screenshot("review-queue", "/review/", REVIEWER, "审核工作台", "审核工作台"),
    Screenshot("review-detail", "/review/versions/{submitted_version}/", REVIEWER, "精密摆线减速器", "审核页面"),
    Screenshot("review-conflicts", "/review/conflicts/", REVIEWER, "专利权属冲突", "专利权属冲突"),
    Screenshot("review-patent-status", "/review/patent-status/", REVIEWER, "专利法律状态导入", "专利法律状态导入"),
    Screenshot("review-flags", "/review/flags/", REVIEWER, "专利状态提示", "专利状态提示"),
    Screenshot("review-queue-phone", "/review/", REVIEWER, "审核工作台", "手机上的审核工作台", phone=True),
    # port administrators
    Screenshot("port-dashboard", "/port/", GUANGDONG, "广东省", "省级管理端口的本地统计"),
    Screenshot("port-products", "/port/products/", GUANGDONG, "备案产品明细", "备案产品明细"),
    Screenshot("port-coverage", "/rosters/coverage/", GUANGDONG, "重点企业备案覆盖情况", "名单覆盖情况"),
    Screenshot("port-missing", "/rosters/missing/", GUANGDONG, "名单内未备案企业", "名单内未备案企业"),
    Screenshot("port-publications", "/port/publications/", GUANGDONG, "数据发布", "按月发布的备案数据"),
    Screenshot("port-certification", "/certification/region/", GUANGDONG, "本地区专利密集型产品认定", "本地区认定结果"),
    Screenshot("port-reports", "/port/reports/", GUANGDONG, "工作报送", "本端口的工作报送"),
    Screenshot("port-statements", "/statements/", GUANGDONG, "备案情况证明", "按统一社会信用代码查询备案情况证明"),
    Screenshot("port-city-phone", "/port/", SHENZHEN, "深圳市", "手机上的城市管理端口", phone=True),
    # national administrators
    Screenshot("national-home", "/national/", NATIONAL, "全国概览", "全国概览"),
    Screenshot("national-applications", "/national/applications/", NATIONAL, "端口开通申请", "端口开通申请"),
    Screenshot("national-ports", "/national/ports/", NATIONAL, "管理端口", "管理端口"),
    Screenshot("national-rosters", "/rosters/", NATIONAL, "重点企业名单", "重点企业名单"),
    Screenshot("national-filing-settings", "/filing-settings/", NATIONAL, "备案规则设置", "备案规则设置"),
    Screenshot("national-publications", "/national/publications/", NATIONAL, "数据发布", "数据发布与成效评价"),
    Screenshot("national-reports", "/national/reports/", NATIONAL, "工作报送", "各端口的工作报送"),
    Screenshot("national-methods", "/certification/methods/", NATIONAL, "评价方法版本", "评价方法版本"),
    Screenshot("national-benchmarks", "/certification/benchmarks/", NATIONAL, "基准值", "基准值"),
    Screenshot("national-rounds", "/certification/", NATIONAL, "专利密集型产品认定", "认定批次"),
    Screenshot("national-experts", "/certification/experts/", NATIONAL, "专家库", "专家库"),
    # review experts
    Screenshot("expert-home", "/certification/expert/", EXPERT, "我的评审任务", "我的评审任务"),
    # the three administrators
    Screenshot("sysadmin-admin", "/admin/", SYSADMIN, "站点管理", "系统管理（管理后台）"),
    Screenshot("secadmin-accounts", "/security/accounts/", SECADMIN, "账号与角色", "账号与角色"),
    Screenshot("audit-log", "/audit/", AUDITADMIN, "审计日志", "审计日志"),
)
SCREENSHOT: dict[str, Screenshot] = {s.name: s for s in SCREENSHOTS}


# ---------------------------------------------------------------------------------------------------------------
# The rules: 专利产品备案条件及流程 (attachment 1 of the notice, as the platform applies it)

RULES = Manual(
    slug="rules",
    title="专利产品备案条件及流程",
    audience="备案单位、各级知识产权管理部门和社会公众",
    summary=(
        "依据《国家知识产权局办公室关于组织开展专利产品备案工作的通知》（国知办函运字〔2022〕985号），"
        "按照“统一平台、统一标准、统一认定”的原则，采取专利产品备案和专利密集型产品认定“两步走”的方式。"
        "本页说明在本平台备案的条件、流程和平台的执行方式。"
    ),
    sections=(
        Section(
            "一、备案主体",
            (
                "生产或销售专利产品的专利权人或被许可人，可以作为备案单位备案其产品。备案单位为企事业单位"
                "（企业、事业单位），以统一社会信用代码（GB 32100-2015）识别，一个代码只能注册一个备案单位；"
                "同一单位的其他人员由单位管理员添加账号，不重复注册。",
                "备案单位对填报内容的真实性负责。",
            ),
        ),
        Section(
            "二、可用于备案的专利",
            (
                "产品所体现的专利应为备案单位自有，或通过许可、转让、作价入股等方式取得，并在备案时登记"
                "本单位对每件专利的权利类型和期限。每个产品至少关联一件专利，且至少一件标注为核心专利；"
                "每件专利填写对产品的贡献度（0–100%），合计不超过 100%。",
                "哪些类型和法律状态的专利可以支撑备案、专利实施许可是否须有备案号，通知未作统一规定，"
                "由国家知识产权局管理员在平台的“备案规则设置”（/filing-settings/）中设定，"
                "提交和审核时按当时的设置检查。"
                "默认设置为：发明、实用新型和外观设计三类专利均可使用，只接受在中国有效的专利，审查中的申请不可使用，"
                "许可无须备案号。设置调整后，以平台上的最新设置为准。",
                "专利号按 ZC 0006-2003 的申请号填写（如 201710601862.3），带 CN、ZL 前缀、空格或不带小数点均可，"
                "平台统一规范并校验校验位。",
            ),
        ),
        Section(
            "三、备案内容与数据年度",
            (
                "每个产品填报名称、型号规格、产品分类、简介、图片和附件，以及上年度销售额、年度出口额和产值（万元），"
                "并逐件说明关联专利在产品中的体现。出口额不得大于销售额，各项金额不得为负数。",
                "经济数据按数据年度填报：数据年度是数据所属的年份，在 2026 年新备案时填报 2025 年度的数据。"
                "专利密集型产品认定始终使用上一自然年度的数据。",
            ),
        ),
        Section(
            "四、备案流程",
            ("备案按“注册—填报—提交—形式审查—通过或退回—年度更新”的流程办理：",),
            (
                "注册备案单位（/enterprise/register/），登记单位的专利及权利；",
                "填报产品及其关联专利，可逐个填写，也可用 Excel 批量导入；",
                "提交：平台先做提交前检查，不符合条件的逐项提示，改正后才能提交；",
                "形式审查：平台审核员核对产品、专利和单位权利，可按字段写明理由退回修改，备案单位修改后重新提交；",
                "审核通过：首次通过时分配产品备案号（如 BA202644000001，BA + 年份 + 省份代码 + 6 位序号），"
                "可下载备案回执（PDF，含公开查验二维码），产品进入公开查询；",
                "年度更新：每年按上一年度的数据更新，经审核后产品备案号不变，公开页面显示最新通过的年度。",
            ),
            "public-search",
        ),
        Section(
            "五、撤回与撤销",
            (
                "备案单位可以撤回尚未审核、被退回或已通过的备案，撤回后该年度的备案不再审核或公开。",
                "发现不符合备案条件的，平台审核员可以撤销已通过的备案并写明理由，产品从公开查询中移除；"
                "产品备案号不会重复使用。所有办理环节都记入办理记录和审计日志，相关人员会收到邮件通知。",
            ),
        ),
        Section(
            "六、公开查询与数据使用",
            (
                "任何人无需登录即可在“备案产品查询”（/products/）按产品名称、单位名称、产品备案号或专利号查询已通过的备案，"
                "按分类和地区筛选，查看产品页面及其专利。销售额、出口额、产值和联系方式不公开。",
                "备案数据按月向各地公布；"
                "各省级、副省级城市和兵团知识产权管理部门通过管理端口查看和统计本地区的备案情况，"
                "年底开展备案工作成效评价。备案数据可为企业评价、项目验收和奖项评选提供基础支撑。",
            ),
        ),
        Section(
            "七、专利密集型产品认定（概要）",
            (
                "认定依据团体标准 T/PPAC 402-2022《企业专利密集型产品评价方法》，从专利保护强度、专利价值贡献、"
                "竞争力对专利依赖度和经济效益四个方面评价，与所属产品分类的评价基准值比较。",
                "流程：备案单位按年度选择“参与专利密集型产品认定”，"
                "截止日前审核通过的备案进入专利性评价（按备案数据计算）"
                "→ 通过者补充材料 → 分领域专家开展产业性评价 → 拟认定名单公示，接受异议 → 公布认定名单，颁发证书，"
                "证书可在平台查验。",
                "平台的解读：标准的具体指标、计算公式和基准值确定方法没有公开，"
                "平台把评价方法作为可配置、有版本的数据维护，"
                "默认版本为“平台解读”版本，国家知识产权局可以修改；基准值按产品分类和数据年度，"
                "由平台依据该类备案产品的分布"
                "给出建议值，经国家知识产权局确定后使用。每项评价结果都列出指标值、基准值和是否达到。",
            ),
            screenshot="public-certified",
        ),
    ),
)


# ---------------------------------------------------------------------------------------------------------------
# The manuals, one per role

ENTERPRISE = Manual(
    slug="enterprise",
    title="企业用户操作手册",
    audience="备案单位的工作人员（演示账号 ent-gz@example.cn、ent-sz@example.cn、ent-hz@example.cn）",
    summary="注册备案单位、登记专利、备案产品、答复退回、年度更新、参与认定和下载证明材料。",
    sections=(
        Section(
            "注册备案单位",
            (
                "首次使用时，在首页点击“注册备案单位”，"
                "填写统一社会信用代码、单位名称、所在地区、行业、规模、联系人和本人账号。",
            ),
            (
                "统一社会信用代码注册后不能修改，填写有误请联系平台；",
                "注册人成为本单位的单位管理员；",
                "密码至少 10 位，包含大写字母、小写字母、数字、符号中的三类。",
            ),
            "enterprise-register",
        ),
        Section(
            "登录与账号安全",
            (
                "用电子邮箱和密码登录。连续 5 次输错密码，账号锁定 30 分钟；30 分钟无操作自动退出。"
                "可在右上角菜单中修改密码、启用双因素认证。",
            ),
            screenshot="login",
        ),
        Section(
            "我的备案",
            ("登录后进入“我的备案”，查看单位信息、专利数量和全部备案产品及其状态（草稿、待审核、已退回、已通过等）。",),
            screenshot="enterprise-home",
        ),
        Section(
            "添加同事",
            (
                "单位管理员在“成员”中添加同事的姓名和邮箱，同事通过邮件中的一次性链接设置密码后登录，"
                "共同管理本单位的专利和产品。",
            ),
            screenshot="enterprise-members",
        ),
        Section(
            "登记专利",
            (
                "在“专利管理”中登记本单位拥有、共有、获许可、受让或作价入股取得的专利，"
                "填写申请号、名称、类型、法律状态和本单位的权利类型及期限。"
                "已由其他单位登记的专利沿用已有的著录信息，只需填写本单位的权利。",
            ),
            screenshot="enterprise-patents",
        ),
        Section(
            "备案新产品",
            ("在“我的备案”点击“备案新产品”，按页面分组填写：",),
            (
                "产品信息：名称、型号规格、产品分类、简介、图片；",
                "经济数据（万元）：数据年度的上年度销售额、年度出口额和产值；",
                "关联专利：从已登记的专利中选择，标注核心专利，填写贡献度和专利在产品中的体现；",
                "保存草稿后可继续修改，点击“提交前检查”查看是否符合备案条件，检查通过后“提交”。",
            ),
            "enterprise-product-new",
        ),
        Section(
            "Excel 批量导入",
            (
                "产品较多时，在“批量导入”下载模板（专利或产品），填好后上传。平台在后台逐行检查并显示进度；"
                "有错误时不保存任何数据，可下载错误报告（行、列、说明），全部正确时一次保存为草稿。",
            ),
            screenshot="enterprise-imports",
        ),
        Section(
            "答复退回",
            (
                "被退回的备案在产品页面和修改页面的对应字段旁显示审核员的退回理由。按理由修改后重新提交，"
                "审核员会收到通知。",
            ),
            screenshot="enterprise-returned",
        ),
        Section(
            "审核通过、回执与撤回",
            (
                "审核通过后产品获得产品备案号，可在产品页面下载“备案回执（PDF）”，回执上的二维码指向产品的公开页面。"
                "确需撤回的，在产品页面点击“撤回备案”并确认。",
            ),
        ),
        Section(
            "年度更新",
            (
                "每年在产品页面点击“年度更新”，平台复制最新一个年度的内容生成下一数据年度的草稿，"
                "更新经济数据和专利后提交审核；产品备案号不变。",
            ),
        ),
        Section(
            "参与专利密集型产品认定",
            (
                "在产品页面勾选“参与专利密集型产品认定”（按年度选择）。"
                "编辑时可用“认定预评估”按已保存的数据对照本分类的基准值自查。"
                "在“产品认定”中查看每项指标的值、基准值和结果，按要求补充材料，查看专家评分（不显示专家姓名），"
                "下载认定证书。",
            ),
            screenshot="enterprise-certification",
        ),
        Section(
            "备案情况证明",
            (
                "申报奖项、项目或接受评价时，"
                "在“备案情况证明”（/statements/mine/）生成并下载本单位的备案情况证明（PDF），"
                "列出各年度已备案和已认定的产品及其编号，注明生成时间和涵盖范围，并附查验二维码；"
                "受理部门扫码即可在平台的“备案情况证明查验”页面（/verify/statement/…）核对。",
            ),
            screenshot="enterprise-statements",
        ),
        Section(
            "专利状态变化提醒",
            (
                "平台定期导入专利法律状态。已通过备案的产品所依赖的专利失效、届满或被宣告无效时，"
                "该备案在产品页面显示“专利状态提示”，备案单位收到通知；"
                "请及时更新关联专利（可通过年度更新）或向审核员说明情况。",
            ),
        ),
        Section(
            "在手机上使用",
            ("平台页面适配手机，导航收在右上角的菜单按钮中。",),
            screenshot="enterprise-home-phone",
        ),
    ),
)

REVIEWER_MANUAL = Manual(
    slug="reviewer",
    title="平台审核员操作手册",
    audience="平台审核员（演示账号 reviewer@example.cn）；国家局管理员也可以审核",
    summary="审核工作台、形式审查、退回与通过、撤销备案，以及专利状态导入和权属冲突的处理。",
    sections=(
        Section(
            "审核工作台",
            (
                "登录后进入“审核工作台”（/review/），按提交时间列出待审核的备案和已等待的天数，"
                "可按状态、省份、产品分类、数据年度和关键词筛选，"
                "切换到“全部”查看已处理的备案，并导出 Excel。",
            ),
            screenshot="review-queue",
        ),
        Section(
            "形式审查",
            ("打开一项备案，页面并列显示产品信息、经济数据、关联专利和备案单位对每件专利的权利，以及此前的办理记录。",),
            (
                "核对单位主体、专利权利及其期限、核心专利、贡献度和经济数据；",
                "平台已自动检查备案规则（专利类型、法律状态、许可备案号），不符合的会列出；",
                "需要修改的，按字段填写退回理由（至少一条）后“退回”；",
                "符合条件的点击“通过”，首次通过时分配产品备案号。",
            ),
            "review-detail",
        ),
        Section(
            "撤销备案",
            (
                "发现已通过的备案不符合条件时，在审核页面填写撤销理由（必填）后撤销，产品从公开查询中移除，"
                "备案单位收到通知。",
            ),
        ),
        Section(
            "专利法律状态导入",
            (
                "在“专利法律状态导入”（/review/patent-status/）下载模板，"
                "上传 Excel 或 CSV 格式的法律状态数据（格式见页面说明），"
                "页面显示处理进度；任何一行有错误时不导入，可下载错误报告（行号和说明）。",
            ),
            screenshot="review-patent-status",
        ),
        Section(
            "专利状态提示",
            (
                "专利失效、届满或被宣告无效时，依赖它的已通过备案被标记，在“专利状态提示”（/review/flags/）中列出，"
                "备案单位和审核员同时收到通知；核实后处理提示并写明结果，专利恢复有效时提示自动解除。"
                "备案保留完整的状态历史，提示也计入管理端口的统计；列表可导出 Excel。",
            ),
            screenshot="review-flags",
        ),
        Section(
            "权属冲突",
            (
                "同一专利被无关联的多个单位登记为自有，或登记了许可但平台上没有权利人时，"
                "平台列入“专利权属冲突”（/review/conflicts/），"
                "并列显示双方的登记信息，供审核员核实后关闭并写明结论；列表可导出 Excel。",
            ),
            screenshot="review-conflicts",
        ),
        Section(
            "在手机上使用",
            ("审核工作台在手机上同样可用，表格可左右滑动。",),
            screenshot="review-queue-phone",
        ),
    ),
)

PORT = Manual(
    slug="port",
    title="管理端口操作手册（省级、副省级城市和兵团）",
    audience=(
        "地方知识产权管理部门的端口管理员（演示账号 guangdong@example.cn：广东省，含广州、深圳；"
        "zhejiang@example.cn：浙江省；shenzhen@example.cn：深圳市）"
    ),
    summary="申请开通端口，查看和统计本地区备案，跟踪重点企业覆盖，获取按月发布的数据，报送工作情况。",
    sections=(
        Section(
            "申请开通管理端口",
            (
                "在首页点击“地方知识产权管理部门：申请开通管理端口”，填写申请表（单位、负责人）和联系人信息表"
                "（姓名、职务、办公电话、手机、电子邮箱），上传盖章的申请表扫描件。国家局审核通过后开通端口，"
                "端口管理员收到设置密码的邮件。",
            ),
            screenshot="port-apply",
        ),
        Section(
            "看得见哪些数据",
            (
                "省级端口看本省（含省内各市）的备案，副省级城市和计划单列市端口只看本市，兵团端口看兵团所属各市。"
                "超出辖区的数据在平台上不存在，链接打开显示“未找到”。",
            ),
        ),
        Section(
            "本地统计",
            (
                "“本地统计”显示备案单位数、备案产品数、经济数据、趋势和按地区、分类、行业、规模的分布，"
                "以及城市排名。每个数字都可以点击查看明细，并导出 Excel。",
            ),
            screenshot="port-dashboard",
        ),
        Section(
            "备案产品和备案单位明细",
            ("明细列表可按条件筛选，导出 Excel。",),
            screenshot="port-products",
        ),
        Section(
            "重点企业名单与覆盖情况",
            (
                "通知要求国家知识产权优势示范企业、奖补省份和重点城市政策惠及的企业备案全覆盖，"
                "并逐步覆盖地方优势示范企业和专精特新企业。"
                "在“重点企业名单”上传本地名单（按模板），在“名单覆盖情况”查看每份名单的备案比例，"
                "在“名单内未备案企业”查看尚未备案的企业及其联系方式，"
                "便于逐一动员。",
            ),
            screenshot="port-coverage",
        ),
        Section(
            "名单内未备案企业",
            screenshot="port-missing",
        ),
        Section(
            "按月发布的数据和年度成效评价",
            (
                "平台每月生成本端口的备案数据（XLSX 和 PDF），年底生成成效评价，生成后邮件通知端口联系人，"
                "可在“数据发布”中下载。",
            ),
            screenshot="port-publications",
        ),
        Section(
            "本地区认定结果",
            ("“认定结果”列出本地区参与认定的产品及其各阶段结果，可导出 Excel。",),
            screenshot="port-certification",
        ),
        Section(
            "工作报送",
            (
                "在“工作报送”（/port/reports/）点击“新建报送”，选择类别（工作进展、突出问题、典型经验、出台政策），"
                "填写内容并可附文件，"
                "报送国家局。国家局阅读、回复并可标为典型案例；本端口可查看历次报送及回复。报送情况纳入年度成效评价。",
            ),
            screenshot="port-reports",
        ),
        Section(
            "备案情况证明的查询",
            (
                "受理奖项或项目申报时，"
                "可在“备案情况证明”（/statements/）按统一社会信用代码查询辖区内单位的备案情况并生成证明，"
                "或扫描证明上的二维码在平台核对。",
            ),
            screenshot="port-statements",
        ),
        Section(
            "城市端口与手机",
            ("城市端口只看到本市的数据。页面适配手机。",),
            screenshot="port-city-phone",
        ),
    ),
)

NATIONAL_MANUAL = Manual(
    slug="national",
    title="国家局管理员操作手册",
    audience="国家知识产权局的管理员（演示账号 national@example.cn）",
    summary="全国概览、开通管理端口、重点企业名单、备案规则设置、数据发布与成效评价、工作报送、开放数据和专利密集型产品认定。",
    sections=(
        Section(
            "全国概览",
            (
                "“全国概览”显示全国的备案统计和 47 个管理端口的排名，数字可点击查看明细并导出 Excel。"
                "国家局管理员同时可以使用审核工作台。",
            ),
            screenshot="national-home",
        ),
        Section(
            "端口开通申请",
            (
                "地方提交的端口申请在此审核：核对申请表扫描件和联系人，通过后开通端口并向管理员发送邀请邮件；"
                "不符合的写明理由退回。",
            ),
            screenshot="national-applications",
        ),
        Section(
            "管理端口",
            ("查看各端口的辖区、管理员和联系人，增删联系人，导出 Excel。",),
            screenshot="national-ports",
        ),
        Section(
            "重点企业名单",
            (
                "上传全国性的名单（如国家知识产权优势示范企业、专精特新“小巨人”企业），名单按年度作为参考数据保存，"
                "覆盖情况按端口统计。",
            ),
            screenshot="national-rosters",
        ),
        Section(
            "备案规则设置",
            (
                "设定哪些类型的专利可以用于备案、审查中的申请是否可用、许可是否须有备案号。"
                "修改自保存时起生效，提交和审核都按新规则检查，已通过的备案不受影响。",
            ),
            screenshot="national-filing-settings",
        ),
        Section(
            "数据发布与成效评价",
            ("查看各端口按月生成的备案数据及进度，可重新生成某一期；年底生成年度成效评价和全国排名。",),
            screenshot="national-publications",
        ),
        Section(
            "工作报送",
            (
                "在“工作报送”（/national/reports/）阅读各端口报送的进展、问题、经验和政策，写回复，标记典型案例；"
                "“典型案例”汇总已标记的报送。",
            ),
            screenshot="national-reports",
        ),
        Section(
            "开放数据",
            (
                "平台按月公开各地区、各产品分类的统计数据（“开放数据”，/open-data/：CSV 和 JSON，不含企业级数据），"
                "每月一个固定网址，附数据说明，无需登录。"
                "国家局也可在“备案情况证明”（/statements/）按统一社会信用代码查询全国的单位。",
            ),
        ),
        Section(
            "评价方法版本",
            (
                "认定使用的评价方法是有版本的数据：指标、公式、方向和通过规则。草稿可修改，启用后冻结；"
                "需要调整时复制为新草稿，修改后启用。",
            ),
            screenshot="national-methods",
        ),
        Section(
            "基准值",
            (
                "按产品分类和数据年度建立基准值，平台按该类备案产品的分布给出建议值（默认中位数），调整后“确定”，"
                "确定后不再修改；修订时建立新版本。",
            ),
            screenshot="national-benchmarks",
        ),
        Section(
            "认定批次",
            (
                "发起认定批次（数据年度、截止日），按阶段推进："
                "专利性评价 → 补充材料 → 产业性评价（分配专家）→ 公示与异议处理 → 公布认定名单、颁发证书。"
                "每一步都显示进度并记入审计日志。",
            ),
            screenshot="national-rounds",
        ),
        Section(
            "专家库",
            ("添加评审专家（单位、地区、擅长的产品分类），停用或启用，导出 Excel。分配时自动回避同省、同单位的专家。",),
            screenshot="national-experts",
        ),
    ),
)

EXPERT_MANUAL = Manual(
    slug="expert",
    title="评审专家操作手册",
    audience="产业性评价的评审专家（演示账号 expert1@example.cn … expert3@example.cn）",
    summary="查看分配的评审任务，对照产品指标和补充材料打分。",
    sections=(
        Section(
            "我的评审任务",
            (
                "专家由国家局加入专家库后收到设置密码的邮件。登录后“评审任务”列出分配给本人的产品，"
                "只能看到分配给自己的产品。",
            ),
            screenshot="expert-home",
        ),
        Section(
            "打分",
            (
                "打开任务，查看产品的指标结果和企业补充的材料，"
                "按技术先进性、市场竞争力、专利对产品的支撑作用、经济与社会效益四项打分并写评语，提交后国家局汇总。",
            ),
        ),
    ),
)

ADMINS = Manual(
    slug="admins",
    title="系统管理员、安全管理员和审计管理员操作手册",
    audience="三权分立的三类管理员（演示账号 sysadmin@example.cn、secadmin@example.cn、audit@example.cn）",
    summary="三类管理员各自一个账号，互不兼任，不处理业务数据。",
    sections=(
        Section(
            "系统管理员",
            ("在“系统管理”（管理后台）维护参考数据，如产品分类、行政区划和定时任务。",),
            screenshot="sysadmin-admin",
        ),
        Section(
            "安全管理员",
            ("在“账号与角色”中查看账号，解锁被锁定的账号，重置密码和双因素认证，停用长期未用的账号，并导出账号清单。",),
            screenshot="secadmin-accounts",
        ),
        Section(
            "审计管理员",
            (
                "在“审计日志”中查看登录、失败、锁定、授权和数据变更记录（含变更前后的值和客户端地址），"
                "按条件筛选并导出。日志只可追加，并有防篡改校验。",
            ),
            screenshot="audit-log",
        ),
    ),
)

PUBLIC = Manual(
    slug="public",
    title="社会公众使用指南",
    audience="任何人，无需登录",
    summary="查询已备案产品和认定产品，查验证书和备案情况证明，对公示名单提出异议。",
    sections=(
        Section(
            "平台首页",
            ("首页提供备案产品查询、认定产品查询、备案单位注册和端口申请的入口。",),
            screenshot="public-home",
        ),
        Section(
            "备案产品查询",
            ("按产品名称、单位名称、产品备案号或专利号（带或不带 ZL）查询已通过的备案，按分类和地区筛选。",),
            screenshot="public-search",
        ),
        Section(
            "产品页面",
            (
                "产品页面显示产品备案号、单位、分类、年度和关联专利；已认定的产品显示认定标识。"
                "经济数据和联系方式不公开。",
            ),
            screenshot="public-product",
        ),
        Section(
            "认定产品与公示",
            (
                "“认定产品查询”列出已认定的专利密集型产品和正在公示的拟认定名单；"
                "公示期内可以对名单中的产品提出异议并说明理由。",
            ),
            screenshot="public-certified",
        ),
        Section(
            "证书查验",
            ("扫描认定证书上的二维码，或打开 /certified/verify/证书编号/，核对证书是否有效。",),
            screenshot="public-verify",
        ),
        Section(
            "备案情况证明查验",
            (
                "企业申报奖项、项目时提交的备案情况证明附有二维码。扫码打开查验页面，"
                "可看到证明编号、生成时间、涵盖范围和当时的备案与认定情况，以及此后发生的变化。",
            ),
            screenshot="public-statement-verify",
        ),
        Section(
            "开放数据",
            (
                "平台按月公开各地区、各产品分类的统计数据（CSV 和 JSON），不含企业级数据，每月一个固定网址，"
                "附字段说明，见“开放数据”（/open-data/）。",
            ),
            screenshot="public-open-data",
        ),
        Section("在手机上查询", ("查询页面适配手机。",), screenshot="public-search-phone"),
    ),
)

MANUALS: tuple[Manual, ...] = (ENTERPRISE, REVIEWER_MANUAL, PORT, NATIONAL_MANUAL, EXPERT_MANUAL, ADMINS, PUBLIC)
MANUAL: dict[str, Manual] = {m.slug: m for m in MANUALS}
ALL_TITLE = "国家专利产品备案与专利密集型产品认定平台操作手册"


def documents(slug: str) -> list[Manual]:
    """The documents of a PDF: "rules", a role's slug, or "all" (the rules and every manual)."""
    if slug == "all":
        return [RULES, *MANUALS]
    if slug == RULES.slug:
        return [RULES]
    return [MANUAL[slug]]


def used_screenshots() -> list[Screenshot]:
    seen: dict[str, Screenshot] = {}
    for doc in (RULES, *MANUALS):
        for shot in doc.screenshots:
            seen.setdefault(shot.name, shot)
    return list(seen.values())


def registry_fingerprint() -> str:
    """Changes whenever a text or a screenshot of the registry changes (keys the cached PDFs)."""
    import hashlib

    return hashlib.sha256(repr((RULES, MANUALS, SCREENSHOTS)).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------
# Static files: the screenshots and the manifest the browser test writes


def read_static(name: str) -> bytes | None:
    """The bytes of a static file, from the source folders or the collected ones; None if absent."""
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import staticfiles_storage

    found = finders.find(name)
    if found:
        with open(found, "rb") as handle:
            return handle.read()
    try:
        with staticfiles_storage.open(name) as handle:
            result: bytes | None = handle.read()
            return result
    except (OSError, ValueError):
        return None


@cache
def _manifest(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(raw)
    return result


def manifest() -> dict[str, Any]:
    """{"generated_at": ISO time, "generator": …, "screens": {name: {path, url, account, viewport, …}}}."""
    raw = read_static(MANIFEST)
    if raw is None:
        return {"generated_at": None, "screens": {}}
    return _manifest(raw)
