from django.utils import timezone

from branches.access import access_for


def officer_posts(request):
    """The signed-in user's posts, for the header ("organisation - role") on every page, and the year the menu's
    comments and ratings open on (``menu_year``).

    Read through ``access_for``, which caches them on the user for the request: the scope checks of the same
    request use the same rows. The year is the app's today (``timezone.localdate``), as the pages' own, not the
    clock's: a data set looked at as of another day gets a menu that agrees with its pages.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"officer_posts": []}
    return {"officer_posts": list(access_for(user).posts), "menu_year": timezone.localdate().year}
