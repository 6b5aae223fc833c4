"""Chinese by default; the English catalogue is complete and keeps every placeholder."""
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\(\w+\)\w")


def _extracted_ids(tmp_path) -> set[str]:
    pot = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "trainapp/translations/babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
                    "-o", str(pot), str(ROOT)], check=True, cwd=ROOT, capture_output=True)
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def test_every_string_in_the_code_has_an_english_translation(tmp_path):
    with (ROOT / "trainapp/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    translated = {}
    for m in catalogue:
        if m.id and not m.fuzzy:
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strs = m.string if isinstance(m.string, tuple) else (m.string,)
            translated[ids[0]] = strs[0]
            for i, s in zip(ids, strs):
                assert sorted(PLACEHOLDER.findall(i)) == sorted(PLACEHOLDER.findall(s)), i
    missing = sorted(i for i in _extracted_ids(tmp_path) if not translated.get(i))
    assert missing == [], f"{len(missing)} strings lack English: {missing[:10]}"


def test_chinese_is_the_default_and_english_switches(world, client, login):
    login("admin")
    assert '<html lang="zh-CN">' in client.get("/home").text
    from tests.conftest import post_form

    post_form(client, "/lang/en", {"next": "/home"})
    page = client.get("/home").text
    assert '<html lang="en">' in page and "Hello, admin" in page
    assert "您好" not in page
