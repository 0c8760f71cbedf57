"""The browsable description of the API: Swagger UI from drf-spectacular-sidecar's files, its start-up script a
file of its own (the site's Content-Security-Policy allows no inline script or style)."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "dongha76 API"
