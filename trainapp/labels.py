"""User-visible labels for codes stored in the database."""
from flask_babel import lazy_gettext as _l

AUDIENCE_LABELS = {
    "leader": _l("党政领导干部"),
    "committee": _l("安委会成员单位负责同志"),
    "regulator": _l("安全监管执法人员"),
    "park_staff": _l("园区安全生产工作人员"),
    "principal": _l("主要负责人"),
    "safety_manager": _l("安全生产管理人员"),
    "special_worker": _l("特种作业人员"),
    "staff": _l("其他从业人员"),
}

EMPLOYMENT_LABELS = {
    "regular": _l("正式员工"),
    "dispatched": _l("劳务派遣"),
    "flexible": _l("灵活用工"),
    "outsourced": _l("外包外租"),
}

ROLE_LABELS = {
    "admin": _l("系统管理员"),
    "manager": _l("街镇/行业管理人员"),
    "trainer": _l("培训讲师"),
    "enterprise_admin": _l("企业安全管理员"),
    "regulator": _l("监管执法人员"),
    "learner": _l("学员"),
}

STATUS_LABELS = {
    "active": _l("在职"),
    "left": _l("已离职"),
    "pending": _l("待审核"),
    "approved": _l("已通过"),
    "rejected": _l("已驳回"),
}

FLAG_LABELS = {
    "high_risk": _l("高危行业"),
    "crowded_venue": _l("人员密集场所"),
    "fire_key_unit": _l("消防安全重点单位"),
    "factory_in_factory": _l("厂中厂"),
    "key_enterprise": _l("区级重点企业"),
}


def label(mapping: dict, code: str | None) -> str:
    """Label for a code, or the code itself when unknown."""
    if not code:
        return ""
    return str(mapping.get(code, code))
