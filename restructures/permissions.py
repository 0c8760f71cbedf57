"""Who may restructure the tree: city committee staff who write (and superusers). Nobody else learns the pages
exist (404), and the menu shows them only to those who may."""

from branches.access import access_for


def may_restructure(user) -> bool:
    return getattr(user, "is_authenticated", False) and access_for(user).is_city(write=True)
