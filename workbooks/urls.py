"""URLs of the workbook import: names are ``workbooks:<thing>``."""

from django.urls import path

from reports import views_workbook
from workbooks import views

app_name = "workbooks"

urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import-confirm"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import-errors"),
    # The yearly report workbook of a large subtree, written by a job (reports/views_workbook.py).
    path("reports/<int:pk>/", views_workbook.workbook_export, name="report-export"),
    path("reports/<int:pk>/progress/", views_workbook.workbook_export_progress, name="report-export-progress"),
    path("reports/<int:pk>/download/", views_workbook.workbook_export_download, name="report-export-download"),
    path("template.xlsx", views.template_download, name="template"),
    path("columns/", views.columns, name="columns"),
]
