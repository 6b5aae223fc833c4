"""Checks for Chinese identifiers: unified social credit codes, ID numbers, mobiles."""
from __future__ import annotations

import re

# GB 32100-2015: 18 characters from this 31-symbol alphabet (no I, O, Z, S, V).
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def credit_check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def credit_code_problem(value: str) -> str | None:
    """Say what is wrong with a credit code, or None when it is valid."""
    from flask_babel import gettext as _

    code = normalise_credit_code(value)
    if len(code) != 18:
        return _("统一社会信用代码应为18位，当前为%(n)d位", n=len(code))
    bad = [c for c in code if c not in CREDIT_ALPHABET]
    if bad:
        return _("统一社会信用代码含有无效字符：%(chars)s", chars="".join(sorted(set(bad))))
    if credit_check_char(code[:17]) != code[17]:
        return _("统一社会信用代码校验位不正确")
    return None


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_number_problem(value: str) -> str | None:
    """Say what is wrong with an 18-digit resident ID number, or None when valid."""
    from flask_babel import gettext as _

    v = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return _("身份证号应为18位数字（最后一位可为X）")
    if id_check_char(v[:17]) != v[17]:
        return _("身份证号校验位不正确")
    return None


def mobile_problem(value: str) -> str | None:
    from flask_babel import gettext as _

    if not MOBILE_RE.match((value or "").strip()):
        return _("手机号应为11位、以1开头的中国大陆手机号")
    return None


def mask_id_number(value: str | None) -> str:
    """Show only the first 3 and last 4 characters of an ID number."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_mobile(value: str | None) -> str:
    if not value or len(value) < 7:
        return value or ""
    return value[:3] + "****" + value[-4:]
