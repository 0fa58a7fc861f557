from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.contrib.auth.models import User

from . import payments, shipping

# Order.email and User.email hold 254 characters (RFC 5321's path limit); Django's form field alone allows 320.
EMAIL_MAX_LENGTH = 254


class CheckoutForm(forms.Form):
    email = forms.EmailField(max_length=EMAIL_MAX_LENGTH)
    full_name = forms.CharField(max_length=200)
    address_line1 = forms.CharField(max_length=200, label="Address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address (line 2)")
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.TypedChoiceField(choices=shipping.ship_to_countries, coerce=str.upper, error_messages={
        "invalid_choice": "We do not deliver to that country; choose one from the list."})
    shipping_method = forms.ChoiceField(label="Delivery", widget=forms.RadioSelect, required=False)
    payment_method = forms.ChoiceField(choices=payments.choices, widget=forms.RadioSelect, initial="cod")

    def __init__(self, *args, shipping_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.shipping_options = list(shipping_options)
        self.fields["shipping_method"].choices = [(q.code, q.label) for q in self.shipping_options]
        if self.shipping_options:
            self.fields["shipping_method"].initial = self.shipping_options[0].code
        if len(settings.SHOP_SHIP_TO_COUNTRIES) == 1:
            self.fields["country"].initial = settings.SHOP_SHIP_TO_COUNTRIES[0]

    def clean_shipping_method(self):
        return self.cleaned_data.get("shipping_method") or None  # none named: the cheapest (shop.checkout)


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, max_length=EMAIL_MAX_LENGTH)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists; log in or reset the password.")
        return email


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=999, initial=1)
    variant = forms.IntegerField(required=False, min_value=1)
    source = forms.CharField(required=False, max_length=16)


class ShopPasswordResetForm(PasswordResetForm):
    """Reset links use the host the shopper asked for, not the Site row (flatpages need django.contrib.sites,
    whose placeholder domain would otherwise end up in the email), and the email is signed with the shop name."""

    def save(self, domain_override=None, request=None, extra_email_context=None, **kwargs):
        host = domain_override or (request.get_host() if request is not None else None)
        context = {**(extra_email_context or {}), "shop_name": settings.SHOP_NAME}
        return super().save(domain_override=host, request=request, extra_email_context=context, **kwargs)
