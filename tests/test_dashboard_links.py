"""The admin index links every ML dashboard (forecasting, recommender, chat) for staff who may see it, through
shop.dashboard.register_link called from each app's AppConfig.ready(); nobody else can open those pages."""
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

pytestmark = pytest.mark.django_db

DASHBOARDS = {
    "Sales forecast": ("admin:forecasting_productforecast_changelist", "forecasting", "view_productforecast"),
    "Forecast models": ("admin:forecasting_forecastmodel_changelist", "forecasting", "view_forecastmodel"),
    "Recommendations": ("admin:recommender_recommendermodel_changelist", "recommender", "view_recommendermodel"),
    "Chat: unanswered questions": ("admin:chatbot_unansweredquestion_changelist", "chatbot",
                                   "view_unansweredquestion"),
    "Chat: support requests": ("admin:chatbot_supportrequest_changelist", "chatbot", "view_supportrequest"),
}


def _links(client) -> dict[str, str]:
    import re

    body = client.get("/admin/").content.decode()
    if 'id="dashboard-links"' not in body:
        return {}
    panel = body[body.index('id="dashboard-links"'):]
    panel = panel[:panel.index("</ul>")]
    return {label: href for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', panel)}


def test_staff_see_every_dashboard_on_the_admin_index_and_open_it(admin_client):
    links = _links(admin_client)
    for label, (name, _, _) in DASHBOARDS.items():
        assert links.get(label) == reverse(name), label
        assert admin_client.get(links[label]).status_code == 200, label


def test_staff_see_only_the_dashboards_their_permissions_open(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "pw-123456-x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_unansweredquestion",
                                                      content_type__app_label="chatbot"))
    client.force_login(clerk)
    links = _links(client)
    assert set(links) == {"Chat: unanswered questions"}
    assert client.get(links["Chat: unanswered questions"]).status_code == 200
    assert client.get(reverse(DASHBOARDS["Sales forecast"][0])).status_code == 403
    assert client.get(reverse(DASHBOARDS["Recommendations"][0])).status_code == 403


@pytest.mark.parametrize("who", ["visitor", "customer"])
def test_nobody_else_can_open_the_dashboards(client, user, who):
    if who == "customer":
        client.force_login(user)  # signed in, not staff
    for label, (name, _, _) in DASHBOARDS.items():
        r = client.get(reverse(name))
        assert r.status_code == 302 and r["Location"].startswith("/admin/login/"), label
    assert _links(client) == {}
