from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommendations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from shop.dashboard import register_link

        register_link("Recommendations", "admin:recommender_recommendermodel_changelist",
                      "A/B results per slot, the serving model, training runs and \"Retrain now\"",
                      permission="recommender.view_recommendermodel")
