from branches.selectors import officer_posts_for


def officer_posts(request):
    """The signed-in user's posts, for the header ("organisation – role") on every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"officer_posts": []}
    return {"officer_posts": list(officer_posts_for(user))}
