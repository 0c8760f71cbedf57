"""The home page: Việc cần làm (to-do) for each role, and the figures of the user's organisations."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from branches.selectors import officer_posts_for
from members.selectors import organisation_overview, todo_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    posts = [
        (post, organisation_overview(organisation=post.organisation, day=day))
        for post in officer_posts_for(request.user, day=day)
    ]
    return render(request, "home.html", {"day": day, "posts": posts, "todo": todo_for(request.user, day=day)})
