"""The two official report templates (2019 and 2021) as data.

Row keys, column keys and the official labels of sections 二, 三 and 四, taken
from ``report-schema.md``.  The table reader (``tables.py``), the renderer
used by the demo and the round-trip tests (``govcrawl.demo.render``) and the
checks all read them from here, so the templates live in one place.
"""

from __future__ import annotations

FORMATS = ("2019", "2021")

APPLICANT_COLUMNS = (
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "social_welfare_org",
    "legal_service_org",
    "other_org",
    "total",
)
APPLICANT_COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")

REVIEW_ROWS = ("review", "litigation_direct", "litigation_after_review")
REVIEW_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
REVIEW_COLUMN_LABELS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")

# Section 二: row key -> (label, item group heading, columns, column labels) per format.
# ``amount_unit`` is not a column on the page: it comes from the header.
ACTIVE_2019 = {
    "rules": ("规章", "第二十条第(一)项", ("new_made", "new_published", "total_published")),
    "normative_documents": ("规范性文件", "第二十条第(一)项", ("new_made", "new_published", "total_published")),
    "licensing": ("行政许可", "第二十条第(五)项", ("prev_year", "change", "decisions")),
    "other_services": ("其他对外管理服务事项", "第二十条第(五)项", ("prev_year", "change", "decisions")),
    "penalty": ("行政处罚", "第二十条第(六)项", ("prev_year", "change", "decisions")),
    "coercion": ("行政强制", "第二十条第(六)项", ("prev_year", "change", "decisions")),
    "fees": ("行政事业性收费", "第二十条第(八)项", ("prev_year", "change")),
    "procurement": ("政府集中采购", "第二十条第(九)项", ("items", "amount")),
}
ACTIVE_2021 = {
    "rules": ("规章", "第二十条第(一)项", ("issued", "repealed", "in_force")),
    "normative_documents": ("行政规范性文件", "第二十条第(一)项", ("issued", "repealed", "in_force")),
    "licensing": ("行政许可", "第二十条第(五)项", ("decisions",)),
    "penalty": ("行政处罚", "第二十条第(六)项", ("decisions",)),
    "coercion": ("行政强制", "第二十条第(六)项", ("decisions",)),
    "fees": ("行政事业性收费", "第二十条第(八)项", ("amount",)),
}
ACTIVE = {"2019": ACTIVE_2019, "2021": ACTIVE_2021}

ACTIVE_COLUMN_LABELS = {
    "new_made": "本年新制作数量",
    "new_published": "本年新公开数量",
    "total_published": "对外公开总数量",
    "prev_year": "上一年项目数量",
    "change": "本年增/减",
    "decisions": "处理决定数量",
    "items": "采购项目数量",
    "amount": "采购总金额",
    "issued": "本年制发件数",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
}
ACTIVE_COLUMN_LABELS_2021 = dict(ACTIVE_COLUMN_LABELS, decisions="本年处理决定数量", amount="本年收费金额(单位:万元)")
# Rows whose money column carries a unit (``amount_unit`` in the item).
UNIT_ROWS = {"2019": "procurement", "2021": "fees"}

# Section 三 rows: (key, group heading, label).  The group is the merged cell on the left.
RESULT_GROUP = "三、本年度办理结果"
APPLICATION_ROWS_2019 = (
    ("new_requests", None, "一、本年新收政府信息公开申请数量"),
    ("carried_over", None, "二、上年结转政府信息公开申请数量"),
    ("granted", RESULT_GROUP, "(一)予以公开"),
    ("partially_granted", RESULT_GROUP, "(二)部分公开(区分处理的,只计这一情形,不计其他情形)"),
    ("denied_state_secret", "(三)不予公开", "1.属于国家秘密"),
    ("denied_prohibited_by_law", "(三)不予公开", "2.其他法律行政法规禁止公开"),
    ("denied_three_safeties", "(三)不予公开", "3.危及“三安全一稳定”"),
    ("denied_third_party", "(三)不予公开", "4.保护第三方合法权益"),
    ("denied_internal_affairs", "(三)不予公开", "5.属于三类内部事务信息"),
    ("denied_process_info", "(三)不予公开", "6.属于四类过程性信息"),
    ("denied_enforcement_files", "(三)不予公开", "7.属于行政执法案卷"),
    ("denied_admin_inquiry", "(三)不予公开", "8.属于行政查询事项"),
    ("unavailable_not_held", "(四)无法提供", "1.本机关不掌握相关政府信息"),
    ("unavailable_needs_creation", "(四)无法提供", "2.没有现成信息需要另行制作"),
    ("unavailable_unclear", "(四)无法提供", "3.补正后申请内容仍不明确"),
    ("rejected_petition", "(五)不予处理", "1.信访举报投诉类申请"),
    ("rejected_repeated", "(五)不予处理", "2.重复申请"),
    ("rejected_publications", "(五)不予处理", "3.要求提供公开出版物"),
    ("rejected_excessive", "(五)不予处理", "4.无正当理由大量反复申请"),
    ("rejected_confirmation", "(五)不予处理", "5.要求行政机关确认或重新出具已获取信息"),
    ("other_handling", RESULT_GROUP, "(六)其他处理"),
    ("total_handled", RESULT_GROUP, "(七)总计"),
    ("carried_forward", None, "四、结转下年度继续办理"),
)
_OTHER_2021 = (
    ("other_no_correction", "(六)其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("other_fee_unpaid", "(六)其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other_other", "(六)其他处理", "3.其他"),
)
APPLICATION_ROWS_2021 = tuple(
    r for row in APPLICATION_ROWS_2019 for r in ((_OTHER_2021) if row[0] == "other_handling" else (row,))
)
APPLICATION_ROWS = {"2019": APPLICATION_ROWS_2019, "2021": APPLICATION_ROWS_2021}

# Result rows summed by the ``applications_result_sum`` check (every row between 予以公开 and 其他处理).
_NOT_RESULTS = ("new_requests", "carried_over", "total_handled", "carried_forward")
RESULT_ROW_KEYS = tuple(
    dict.fromkeys(k for rows in APPLICATION_ROWS.values() for k, _, _ in rows if k not in _NOT_RESULTS)
)

SECTION_KEYS = ("active_disclosure", "applications", "review_litigation")
SECTION_TITLES = {
    "active_disclosure": "二、主动公开政府信息情况",
    "applications": "三、收到和处理政府信息公开申请情况",
    "review_litigation": "四、政府信息公开行政复议、行政诉讼情况",
}
