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
