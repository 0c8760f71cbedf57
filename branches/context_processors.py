from branches.access import access_for


def officer_posts(request):
    """The signed-in user's posts, for the header ("organisation - role") on every page.

    Read through ``access_for``, which caches them on the user for the request: the scope checks of the same
    request use the same rows.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"officer_posts": []}
    return {"officer_posts": list(access_for(user).posts)}
