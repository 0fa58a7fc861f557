from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from . import payments

SORTS = {
    "popular": ("-popularity", "name"),
    "price": ("price", "name"),
    "-price": ("-price", "name"),
    "newest": ("-created_at", "name"),
    "name": ("name",),
}


class CheckoutForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    address_line1 = forms.CharField(max_length=200, label="Address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address (line 2)")
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.RegexField(regex=r"^[A-Za-z]{2}$", max_length=2, help_text="Two-letter code, e.g. DE",
                               error_messages={"invalid": "Use the two-letter country code, e.g. DE."})
    payment_method = forms.ChoiceField(choices=payments.choices, widget=forms.RadioSelect, initial="cod")


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True)

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
    source = forms.CharField(required=False, max_length=16)
