"""Identifier checks: credit codes (GB 32100), ID numbers (GB 11643), mobiles, masking."""
import pytest

from trainapp.org.validators import (
    credit_check_char, credit_code_problem, id_number_problem, mask_id_number, mobile_problem,
)

# Published examples of valid codes (their check characters are part of the public record).
VALID_CODES = ["91350100M000100Y43", "91110000600037341L", "91310000MA1FL1MMXL"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes_pass(code):
    assert credit_code_problem(code) is None
    assert credit_code_problem(code.lower()) is None  # typed in lower case


def test_every_wrong_check_character_is_caught():
    body = VALID_CODES[0][:17]
    wrong = [c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != credit_check_char(body)]
    assert all(credit_code_problem(body + c) for c in wrong)


@pytest.mark.parametrize("code,fragment", [("9135010", "18位"), ("91350100M000100YI3", "无效字符"),
                                          ("91350100M000100Y44", "校验位")])
def test_bad_credit_codes_say_why(code, fragment):
    assert fragment in credit_code_problem(code)


def test_id_numbers():
    good = "11010519491231002X"
    assert id_number_problem(good) is None
    assert "校验位" in id_number_problem(good[:-1] + "1")
    assert id_number_problem("123") is not None
    assert mask_id_number(good) == "110***********002X"


@pytest.mark.parametrize("mobile,ok", [("13812345678", True), ("19912345678", True), ("12812345678", False),
                                       ("1381234567", False), ("+8613812345678", False)])
def test_mobiles(mobile, ok):
    assert (mobile_problem(mobile) is None) == ok
