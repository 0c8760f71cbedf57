import unicodedata

import pytest

from dongha76.text import search_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Văn Đức", "nguyen van duc"),
        ("NGUYỄN VĂN ĐỨC", "nguyen van duc"),
        ("đặng thị ánh", "dang thi anh"),
        ("Lê Thị Hồng Nhung", "le thi hong nhung"),
        ("Ưng Hoàng Phúc", "ung hoang phuc"),
        ("Trương Quốc Việt", "truong quoc viet"),
        ("Phạm Thị Ngọc Ẩn", "pham thi ngoc an"),
        ("Nguyen Van Duc", "nguyen van duc"),
        ("P1-KP3", "p1-kp3"),
    ],
)
def test_search_key_folds_vietnamese_to_what_people_type(text, expected):
    assert search_key(text) == expected


def test_search_key_collapses_and_trims_whitespace():
    assert search_key("  Nguyễn   Văn\tĐức \n") == "nguyen van duc"


def test_search_key_gives_the_same_key_for_composed_and_decomposed_input():
    composed = unicodedata.normalize("NFC", "Nguyễn Văn Đức")
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn Đức")
    assert composed != decomposed
    assert search_key(composed) == search_key(decomposed) == "nguyen van duc"


def test_search_key_is_idempotent():
    key = search_key("Hoàng Thị Đào")
    assert search_key(key) == key == "hoang thi dao"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_search_key_of_blank_text_is_empty(text):
    assert search_key(text) == ""


# -- names and texts (issue 10, finding 9): NFC, no hidden characters ----------------------------------------------

from django.core.exceptions import ValidationError  # noqa: E402

from dongha76.text import clean_name, hidden_characters, normalise_line, validate_name, validate_text  # noqa: E402


def test_a_name_is_stored_composed_with_single_spaces():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn\u00a0Văn\tĐức ")
    assert normalise_line(decomposed) == unicodedata.normalize("NFC", "Nguyễn Văn Đức")
    assert clean_name(decomposed) == "Nguyễn Văn Đức"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("\u200b\u200b\u200b", ["U+200B"]),
        ("Nguyễn \u202eVăn", ["U+202E"]),
        ("An\u200dh", ["U+200D"]),
        ("\ufeffLan", ["U+FEFF"]),
        ("Lan\u2066x\u2069", ["U+2066", "U+2069"]),
        ("\u3164", ["U+3164"]),
        ("A\x07B", ["U+0007"]),
        ("A\u2028B", ["U+2028"]),
        ("so\u00adft", ["U+00AD"]),
        ("Lê\ufe0f", ["U+FE0F"]),
    ],
)
def test_hidden_characters_are_named(text, hidden):
    assert hidden_characters(text) == hidden
    with pytest.raises(ValidationError) as error:
        validate_name(text)
    assert error.value.code == "hidden_characters"
    assert hidden[0] in error.value.messages[0]


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_a_blank_name_is_refused(text):
    with pytest.raises(ValidationError) as error:
        validate_name(text)
    assert error.value.code == "blank_name"


@pytest.mark.parametrize("text", ["Nguyễn Văn Đức", "Đảng bộ Phường 1", "Hồ Thị Ánh-Nguyệt", "Số 12/3 đường Lê Lợi"])
def test_ordinary_vietnamese_is_accepted(text):
    validate_name(text)
    validate_text(text)


def test_a_text_may_hold_line_breaks_and_tabs_but_no_override():
    validate_text("Dòng một\nDòng hai\tcột")
    with pytest.raises(ValidationError):
        validate_text("Dòng một\n\u202eDòng hai")
