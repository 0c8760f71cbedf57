"""Text helpers shared by every app."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def search_key(text: str) -> str:
    """Fold a Vietnamese name into the form people type on a keyboard without accents.

    "Nguyễn Văn Đức" -> "nguyen van duc". NFD splits a letter from its tone and vowel marks so they can be dropped;
    đ/Đ are letters of their own (not d plus a mark), so they are mapped by hand.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


# -- what may stand in a name or a text ------------------------------------------------------------------------------
# A name made only of zero-width spaces looks blank on every page yet is not blank to the database; a right-to-left
# override makes "Nguyễn Văn A" display as something else than what is searched and printed. Such characters have no
# place in the names and texts of this product: they are refused with a message naming them, never silently dropped
# (the user should see that what was pasted carried them).

# Explicit direction marks and embeddings/overrides/isolates (most are category Cf; listed for clarity).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols drawn as nothing: Hangul fillers, Khmer inherent vowels, the blank braille pattern, and the
# variation selectors (combining marks that only pick a glyph).
INVISIBLE_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5\u2800") | frozenset(
    chr(code) for code in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))
)
# Controls (Cc), format characters (Cf: zero-width spaces and joiners, soft hyphen, BOM, bidi controls, tags), private
# use (Co), surrogates (Cs), unassigned code points (Cn), line and paragraph separators (Zl, Zp).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# What a text of several lines (an address, a summary, a comment) may hold besides visible characters and spaces.
TEXT_WHITESPACE = frozenset("\n\r\t")


def normalise_line(text: str) -> str:
    """A name or a line as stored: NFC (a letter and its marks as one code point, as Vietnamese keyboards type it),
    each run of white space (tabs, no-break and ideographic spaces included) one plain space, none at either end."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def hidden_characters(text: str) -> list[str]:
    """The characters of ``text`` a reader cannot see or that reorder what is seen, as "U+200B", each once, in order
    (line breaks and tabs are not counted)."""
    found: dict[str, None] = {}
    for character in text:
        if character in TEXT_WHITESPACE:
            continue
        if (
            unicodedata.category(character) in HIDDEN_CATEGORIES
            or character in BIDI_CONTROLS
            or character in INVISIBLE_GLYPHS
        ):
            found.setdefault(f"U+{ord(character):04X}")
    return list(found)


def validate_text(text: str) -> None:
    """A model and form validator for free text (an address, a reason, a summary): no hidden character."""
    hidden = hidden_characters(text or "")
    if hidden:
        raise ValidationError(
            _(
                "Remove the invisible or direction-changing characters (%(characters)s): they cannot be seen but "
                "change how the text is shown and searched."
            ),
            code="hidden_characters",
            params={"characters": ", ".join(hidden)},
        )


def validate_name(text: str) -> None:
    """A name (of a person, of an organisation): no hidden character, and a visible letter once normalised."""
    validate_text(text)
    if not normalise_line(text or ""):
        raise ValidationError(_("Enter a name with visible letters."), code="blank_name")


def clean_name(text: str) -> str:
    """The name as stored (``normalise_line``), or ``ValidationError`` (``validate_name``)."""
    validate_name(text)
    return normalise_line(text)
