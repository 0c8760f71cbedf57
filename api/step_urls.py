"""The API's write endpoints for the workflow steps (``/api/v1/...``): owned by the write side of the API (the
"apiwrite" part of issue 15), which fills ``urlpatterns``. ``api.urls`` includes this module under /api/v1/."""

urlpatterns = []
