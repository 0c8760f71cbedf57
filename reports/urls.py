"""URLs of the reports app: names are ``reports:<thing>``."""

from django.urls import path

from reports import views, views_workbook

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("api/figures/", views.figures_api, name="figures-api"),
    path("workbook/", views_workbook.workbook, name="workbook"),
    path("<str:code>/", views.dashboard_org, name="dashboard-org"),
    path("<str:code>/tracking-book-gaps/<str:which>/", views.tracking_book_gaps, name="tracking-book-gaps"),
]
