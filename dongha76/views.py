"""Project-level pages: the home page every signed-in user lands on."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from branches.selectors import officer_posts_for
from members.selectors import organisation_overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """For each of the user's posts: the organisation, the role and a few live figures of its subtree."""
    day = timezone.localdate()
    posts = [
        (post, organisation_overview(organisation=post.organisation, day=day))
        for post in officer_posts_for(request.user, day=day)
    ]
    return render(request, "home.html", {"day": day, "posts": posts})
