from django.apps import AppConfig


class ChatbotConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chatbot"
    verbose_name = "Chat assistant"

    def ready(self):
        from shop.dashboard import register_link

        register_link("Chat: unanswered questions", "admin:chatbot_unansweredquestion_changelist",
                      "what shoppers asked that the assistant could not answer, grouped; one click makes an FAQ entry",
                      permission="chatbot.view_unansweredquestion")
        register_link("Chat: support requests", "admin:chatbot_supportrequest_changelist",
                      "shoppers who asked for a person, with the conversation",
                      permission="chatbot.view_supportrequest")
