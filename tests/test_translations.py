"""The Vietnamese catalogue is complete, compiled, and covers every string the code marks for translation."""

import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# Where user-facing text lives (tests and benchmarks have none).
SOURCE_FOLDERS = ("branches", "members", "reports", "workbooks", "dongha76", "templates")


def test_every_entry_is_translated_and_none_is_fuzzy():
    catalogue = polib.pofile(str(PO))
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
    assert not catalogue.metadata_is_fuzzy


def test_the_compiled_catalogue_matches_the_source():
    source = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(PO)) if not e.obsolete}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(MO))}
    assert compiled == source, "Run `make messages` to compile django.mo"


def test_makemessages_finds_no_string_missing_from_the_catalogue(tmp_path, settings, monkeypatch):
    """Extract the strings of the code as it is now into a copy of the catalogue: nothing new may appear.

    makemessages writes into the locale folder nearest each source file, so it runs on a copy of the sources: the
    real catalogue is never touched by the test.
    """
    root = Path(settings.BASE_DIR)
    for name in SOURCE_FOLDERS:
        shutil.copytree(root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    copy = tmp_path / "locale" / "vi" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(PO, copy)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["vi"], no_location=True, verbosity=0)
    untranslated = [e.msgid for e in polib.pofile(str(copy)).untranslated_entries()]
    assert untranslated == [], "New strings to translate: run `make messages` and fill in locale/vi"


@pytest.mark.parametrize(
    ("english", "vietnamese"),
    [
        ("Awaiting reception", "Chờ tiếp nhận"),
        ("Residential cell", "Chi bộ khu phố/thôn"),
        ("Exempt from introduction", "Miễn giới thiệu"),
        ("Exempt from residence activities", "Miễn sinh hoạt nơi cư trú"),
        ("Periodic meeting", "Sinh hoạt định kỳ"),
        ("Excused absence", "Vắng có lý do"),
    ],
)
def test_the_domain_words_follow_the_glossary(english, vietnamese):
    with translation.override("vi"):
        assert translation.gettext(english) == vietnamese
