"""URLs of the reports app: names are ``reports:<thing>``."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("api/figures/", views.figures_api, name="figures-api"),
]
