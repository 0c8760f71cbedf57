"""URLs of the access log: names are ``audit:<thing>``."""

from audit import views

app_name = "audit"

urlpatterns = [*views.urlpatterns]
