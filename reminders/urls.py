"""URLs of the reminders app: names are ``reminders:<thing>-<action>``."""

from django.urls import path

from reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.reminder_list, name="list"),
    path("<int:pk>/open/", views.reminder_open, name="open"),
]
