"""The API tokens page of the user's account, under /accounts/api-tokens/: names are ``api-tokens:<thing>``."""

from django.urls import path

from api import tokens

app_name = "api-tokens"

urlpatterns = [
    path("", tokens.token_list, name="list"),
    path("<int:pk>/revoke/", tokens.token_revoke, name="revoke"),
]
