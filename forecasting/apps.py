from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    verbose_name = "Forecasts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from shop.dashboard import register_link

        register_link("Sales forecast", "admin:forecasting_productforecast_changelist",
                      "45-day forecast per product, stock-out dates and what to reorder",
                      permission="forecasting.view_productforecast")
        register_link("Forecast models", "admin:forecasting_forecastmodel_changelist",
                      "the serving forecaster, its backtest, training runs and \"Retrain now\"",
                      permission="forecasting.view_forecastmodel")
