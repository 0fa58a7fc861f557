"""Create the `admin` superuser if missing and print how to log in (the password is kept in var/, mode 600)."""
import os
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user (password from ADMIN_PASSWORD or generated) and print the login."

    def handle(self, *args, **opts):
        path = settings.VAR_DIR / "admin_password"
        user = User.objects.filter(username="admin").first()
        if user is None:
            password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@example.com", password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(password)
            path.chmod(0o600)
        password = path.read_text().strip() if path.exists() else "(set earlier; see ADMIN_PASSWORD)"
        self.stdout.write(f"Admin login: http://127.0.0.1:8000/admin/  user: admin  password: {password}")
