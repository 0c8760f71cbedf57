"""The open API, under /api/v1/: names are ``api:<thing>``.

Reads (``api.views``) are registered on the router; the workflow steps' writes live in ``api.step_urls`` (included
here, same namespace). The schema and its description page are served from the package (no CDN).
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from api import docs

app_name = "api"

router = SimpleRouter()

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include("api.step_urls")),
    *router.urls,
]
