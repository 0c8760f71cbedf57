"""Text helpers shared by every app."""

import unicodedata


def search_key(text: str) -> str:
    """Fold a Vietnamese name into the form people type on a keyboard without accents.

    "Nguyễn Văn Đức" -> "nguyen van duc". NFD splits a letter from its tone and vowel marks so they can be dropped;
    đ/Đ are letters of their own (not d plus a mark), so they are mapped by hand.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
