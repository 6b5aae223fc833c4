"""Matching an anonymous worker to the staff list by name and the last four mobile digits, never guessing."""
from __future__ import annotations

from tests import factories
from tests.spotchecks.helpers import form_data, key_answers, make_check, post_answers
from trainapp.extensions import db
from trainapp.spotchecks.service import identity, match_person


def test_one_person_with_that_name_and_digits_is_matched(world):
    p = factories.person(world.ent_a1, "王小明", mobile="13911112222")
    db.session.commit()
    found = match_person(world.ent_a1.id, "王小明", "2222")
    assert (found.match, found.person_id, found.candidates) == ("matched", p.id, 1)
    assert identity(found, "王小明", "2222") == f"p:{p.id}"


def test_spaces_and_full_width_letters_do_not_matter(world):
    p = factories.person(world.ent_a1, "Li Lei", mobile="13911113333")
    db.session.commit()
    assert match_person(world.ent_a1.id, "ＬＩ　 lei", "3333").person_id == p.id


def test_wrong_digits_or_unknown_name_are_unmatched(world):
    factories.person(world.ent_a1, "王小明", mobile="13911112222")
    db.session.commit()
    assert match_person(world.ent_a1.id, "王小明", "9999").match == "unmatched"
    assert match_person(world.ent_a1.id, "王大明", "2222").match == "unmatched"


def test_namesakes_told_apart_by_their_digits(world):
    one = factories.person(world.ent_a1, "张伟", mobile="13900001111")
    factories.person(world.ent_a1, "张伟", mobile="13900002222")
    db.session.commit()
    assert match_person(world.ent_a1.id, "张伟", "1111").person_id == one.id


def test_namesakes_the_digits_cannot_separate_are_ambiguous(world):
    factories.person(world.ent_a1, "张伟", mobile="13900001111")
    factories.person(world.ent_a1, "张伟", mobile="13800001111")
    db.session.commit()
    found = match_person(world.ent_a1.id, "张伟", "1111")
    assert (found.match, found.person_id, found.candidates) == ("ambiguous", None, 2)


def test_namesakes_and_digits_fitting_neither_are_ambiguous_not_guessed(world):
    factories.person(world.ent_a1, "张伟", mobile="13900001111")
    factories.person(world.ent_a1, "张伟", mobile=None)
    db.session.commit()
    found = match_person(world.ent_a1.id, "张伟", "5555")
    assert (found.match, found.person_id) == ("ambiguous", None)


def test_only_active_staff_of_this_enterprise_count(world):
    factories.person(world.ent_a1, "赵六", mobile="13900004444", status="left")
    factories.person(world.ent_b1, "钱七", mobile="13900005555")
    db.session.commit()
    assert match_person(world.ent_a1.id, "赵六", "4444").match == "unmatched"
    assert match_person(world.ent_a1.id, "钱七", "5555").match == "unmatched"


def test_every_answer_is_kept_and_flagged(world, app):
    factories.person(world.ent_a1, "张伟", mobile="13900001111")
    factories.person(world.ent_a1, "张伟", mobile="13800001111")
    db.session.commit()
    check = make_check(world)
    for name, last4 in (("甲一员工", world.staff_a1.mobile[-4:]), ("张伟", "1111"), ("临时工", "8888")):
        assert post_answers(app.test_client(), check, form_data(key_answers(check), name=name, last4=last4)).status_code == 302
    from trainapp.spotchecks.service import results

    res = results(check)
    assert [(a.name, a.match, a.person_id) for a in res.answers] == [
        ("甲一员工", "matched", world.staff_a1.id), ("张伟", "ambiguous", None), ("临时工", "unmatched", None)]
    assert res.counts == {"matched": 1, "unmatched": 1, "ambiguous": 1}
