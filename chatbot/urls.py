from django.urls import path

from . import api

urlpatterns = [path("", api.ChatView.as_view(), name="chat-api")]
