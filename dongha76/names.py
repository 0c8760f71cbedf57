"""People's names as Vietnamese write them."""


def person_name(user) -> str:
    """The user's name family name first, as Vietnamese write it ("Lê Văn Hùng": ``last_name`` holds the family name,
    ``first_name`` the middle and given names; Django's ``get_full_name`` puts them the other way round), else the
    username."""
    if user is None:
        return ""
    parts = (user.last_name.strip(), user.first_name.strip())
    return " ".join(part for part in parts if part) or user.get_username()
