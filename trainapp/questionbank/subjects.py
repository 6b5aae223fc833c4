"""Subjects a bank can cover: the hazard standards and laws of DOMAIN §5 (data, with their issuing document)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# code -> label; the codes match the shipped bank files (question_banks/<code>.json).
SUBJECTS = {
    "hazard_industry_trade": _l("工贸企业重大事故隐患判定标准"),
    "hazard_chemical": _l("化工和危险化学品重大生产安全事故隐患判定标准"),
    "hazard_fireworks": _l("烟花爆竹重大生产安全事故隐患判定标准"),
    "hazard_construction": _l("房屋市政工程重大事故隐患判定标准"),
    "hazard_fire": _l("重大火灾隐患判定方法"),
    "hazard_gas": _l("城镇燃气经营安全重大隐患判定标准"),
    "hazard_mining": _l("金属非金属矿山重大事故隐患判定标准"),
    "hazard_road_transport": _l("道路运输和城市客运重大事故隐患判定标准"),
    "hazard_special_equipment": _l("特种设备重大事故隐患判定准则"),
    "work_safety_law": _l("安全生产法"),
    "shanghai_regulation": _l("上海市安全生产条例"),
    "fifteen_measures": _l("安全生产十五条硬措施"),
    "accident_reporting": _l("生产安全事故报告和调查处理条例"),
    "staff_basics": _l("从业人员安全基础知识"),
    "leader_regulator": _l("领导干部与监管执法人员安全生产知识"),
    "other": _l("其他"),
}
