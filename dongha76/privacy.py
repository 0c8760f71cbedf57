"""Personal data shown as little as the task needs (decree 13/2023/NĐ-CP)."""

MASK = "•"
SHOWN_DIGITS = 4


def mask_national_id(value: str | None) -> str:
    """``045060100022`` -> ``••••••••0022``: enough to tell two people apart on a page, not enough to use."""
    if not value:
        return ""
    shown = value[-SHOWN_DIGITS:] if len(value) > SHOWN_DIGITS else ""
    return MASK * (len(value) - len(shown)) + shown
