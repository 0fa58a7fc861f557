"""Admin form pieces: product attributes edited as key/value rows instead of raw JSON."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

EXTRA_ROWS = 3
MAX_ROWS = 50


class KeyValueWidget(forms.Widget):
    """Rows of two text inputs (name, value), the existing pairs plus a few empty rows for new ones."""

    template_name = "shop/widgets/key_value.html"  # in shop/templates: the form renderer reads app folders

    def format_value(self, value):
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value) if value else {}
            except ValueError:
                value = {}
        return value if isinstance(value, dict) else {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        pairs = [(str(k), "" if v is None else str(v)) for k, v in self.format_value(value).items()]
        context["widget"]["rows"] = pairs + [("", "")] * EXTRA_ROWS
        return context

    def value_from_datadict(self, data, files, name):
        keys = data.getlist(f"{name}_key") if hasattr(data, "getlist") else data.get(f"{name}_key", [])
        values = data.getlist(f"{name}_value") if hasattr(data, "getlist") else data.get(f"{name}_value", [])
        if not keys and name in data:  # posted as JSON (an API client, an old form)
            return data.get(name)
        return list(zip(keys, values))[:MAX_ROWS + EXTRA_ROWS]

    def value_omitted_from_data(self, data, files, name):
        return f"{name}_key" not in data and name not in data


class KeyValueField(forms.Field):
    widget = KeyValueWidget

    def to_python(self, value):
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            import json

            try:
                parsed = json.loads(value)
            except ValueError:
                raise ValidationError("Attributes must be name and value pairs.") from None
            if not isinstance(parsed, dict):
                raise ValidationError("Attributes must be name and value pairs.")
            return parsed
        out: dict[str, str] = {}
        for key, val in value:
            key, val = (key or "").strip(), (val or "").strip()
            if not key and not val:
                continue
            if not key:
                raise ValidationError(f"The value “{val}” has no name.")
            if key in out:
                raise ValidationError(f"“{key}” appears twice.")
            if len(key) > 50 or len(val) > 200:
                raise ValidationError("Names are at most 50 characters, values at most 200.")
            out[key] = val
        return out

    def prepare_value(self, value):
        return value
