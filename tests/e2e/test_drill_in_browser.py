"""An enterprise admin logs an evacuation drill with a photo on a phone and sees the status turn up to date."""
import io

import pytest

from tests.e2e.test_certificate_flow import live_server_app
from tests.e2e.test_roles_in_browser import sign_in

pytestmark = pytest.mark.e2e


def test_enterprise_admin_logs_a_drill_with_a_photo(live_server, page, tmp_path):
    from PIL import Image
    from sqlalchemy import select

    from trainapp.drills.models import Drill, DrillAttachment
    from trainapp.extensions import db

    photo = tmp_path / "drill.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())

    sign_in(page, live_server, "entadmin")
    status = page.locator("#enterprise-admin-home .drill-status").first
    assert status.get_attribute("data-status") == "overdue"  # the demo's first enterprise has never drilled

    page.locator("#enterprise-admin-home a[id^=home-new-drill-]").first.click()
    page.wait_for_url(f"{live_server}/drills/new?enterprise=*")
    page.select_option("#kind", "evacuation")
    page.fill("#scenario", "三楼办公区起火，全员经两侧楼梯疏散至广场")
    page.fill("#organiser", "安全员小李")
    page.fill("#departments", "行政部、生产部")
    page.fill("#headcount_on_duty", "10")
    page.fill("#participants", "12")  # more than were on duty: refused
    page.fill("#evacuation_time", "2:40")
    page.fill("#signed_by", "单位负责人")
    assert not page.locator("#revision_state").is_visible()  # shown only when a revision is needed
    page.check("#revision_needed")
    page.locator("#revision_state").wait_for(state="visible")
    page.fill("#revision_notes", "")
    page.set_input_files("#photos", str(photo))
    page.click("#drill-submit")
    page.locator("#form-errors").wait_for()
    assert "不能超过在岗人数" in page.locator("#drill-form").inner_text()

    page.fill("#participants", "9")
    page.set_input_files("#photos", str(photo))  # a browser forgets chosen files after a reload
    page.click("#drill-submit")
    page.wait_for_url(f"{live_server}/drills/*")
    page.locator("#drill-photos img").wait_for()
    assert "9 / 10" in page.locator("#drill-participants").inner_text()
    assert "修订中" in page.locator("#drill-revision").inner_text()
    # the photo is served back as an image
    assert page.locator("#drill-photos img").evaluate("img => img.naturalWidth") == 64

    page.goto(f"{live_server}/home")
    status = page.locator("#enterprise-admin-home .drill-status").first
    assert status.get_attribute("data-status") == "up_to_date"
    assert "前完成" in page.locator("#enterprise-admin-home .drill-due").first.inner_text()

    with live_server_app().app_context():
        drill = db.session.scalar(select(Drill).where(Drill.scenario.startswith("三楼办公区起火")))
        assert drill is not None and drill.participants == 9 and drill.revision_state == "open"
        assert db.session.scalar(select(DrillAttachment.kind).where(DrillAttachment.drill_id == drill.id)) == "photo"
