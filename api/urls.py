"""The open API, under /api/v1/: names are ``api:<thing>``.

Reads (``api.views``) are registered on the router; the workflow steps' writes live in ``api.step_urls`` (included
here, same namespace). The schema and its description page are served from the package (no CDN).
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from api import docs, views

app_name = "api"

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("members", views.MemberViewSet, basename="member")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("figures/", views.FiguresView.as_view(), name="figures"),
    path("deletions/", views.DeletionListView.as_view(), name="deletion-list"),
    path("", include("api.step_urls")),
    *router.urls,
]
