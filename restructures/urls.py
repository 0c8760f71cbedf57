"""URLs of the restructure pages: names are ``restructures:<thing>``."""

from restructures import views

app_name = "restructures"

urlpatterns = [*views.urlpatterns]
