"""URLs of the reminders app (mounted at /reminders/)."""

from django.urls import path

from reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.reminder_list_view, name="list"),
    path("<int:pk>/open/", views.reminder_open, name="open"),
    path("<int:pk>/read/", views.reminder_read, name="read"),
    path("read/", views.reminder_read_all, name="read-all"),
    path("preferences/", views.reminder_preferences, name="preferences"),
    path("settings/", views.reminder_settings, name="settings"),
]
