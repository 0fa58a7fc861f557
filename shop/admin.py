"""The merchant's admin. Stock changes go through shop.stock and order status changes through shop.order_flow;
orders, their lines and their history are never edited or deleted here (sales history is the forecaster's data)."""
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import images, order_flow, payments, stock
from .admin_widgets import KeyValueField
from .models import (Category, Event, Order, OrderLine, OrderStatusChange, OutboxEmail, Product, ProductImage,
                     ProductVariant, Promotion, StockOut)
from .pricing import format_money


admin.site.site_header = f"{settings.SHOP_NAME} admin"
admin.site.site_title = f"{settings.SHOP_NAME} admin"
admin.site.index_title = "Today in the shop"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "position"]

    def clean_image(self):
        """A new upload is checked here, so a refused file is a form error shown next to the field (the admin then
        does not report "changed successfully")."""
        f = self.cleaned_data.get("image")
        if isinstance(f, UploadedFile):
            f.seek(0)
            data = f.read()
            f.seek(0)
            images.validate_image_bytes(data, getattr(f, "name", "upload"))
        return f


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    readonly_fields = ["preview"]
    fields = ["preview", "image", "alt", "position"]

    @admin.display(description="Photo")
    def preview(self, obj):
        return format_html('<img src="{}" width="64" height="64" alt="" style="object-fit: cover">', obj.thumb_url) \
            if obj and obj.pk else "-"


class PromotionInline(admin.TabularInline):
    model = Promotion
    extra = 0


class VariantInline(admin.TabularInline):
    """Sizes and colours with their own SKU and stock; the product's stock becomes their sum (shop.stock)."""

    model = ProductVariant
    extra = 1
    fields = ["size", "colour", "sku", "stock", "is_active", "position"]
    verbose_name = "variant (size or colour)"


class ProductForm(forms.ModelForm):
    attributes = KeyValueField(required=False, help_text="Shown on the product page and used by search and "
                                                         "filters, e.g. colour = blue, material = cotton.")

    class Meta:
        model = Product
        fields = "__all__"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ["thumbnail", "name", "sku", "category", "price", "stock", "is_active", "popularity"]
    list_display_links = ["thumbnail", "name"]
    list_editable = ["price", "stock", "is_active"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "sku"]
    list_select_related = ["category", "category__parent"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [VariantInline, ProductImageInline, PromotionInline]
    readonly_fields = ["popularity", "created_at", "updated_at"]
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.has_sizes():
            fields.append("stock")  # the sum of the variants: change it per variant below
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")))

    @admin.display(description="Photo")
    def thumbnail(self, obj):
        img = obj.main_image
        if img is None:
            return "-"
        return format_html('<img src="{}" width="48" height="48" alt="" style="object-fit: cover; '
                           'border-radius: 4px">', img.thumb_url)

    def save_model(self, request, obj, form, change):
        new_stock = obj.stock
        if change and "stock" in form.changed_data:
            obj.stock = form.initial["stock"]  # the stock service makes the change (and the stock-out record)
            super().save_model(request, obj, form, change)
            try:
                stock.set_stock(obj, new_stock)
            except ValueError as exc:  # a product with variants (edited in the list)
                messages.error(request, str(exc))
        else:
            super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is ProductVariant:
            return self._save_variants(request, form, formset)
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if obj.pk is None:
                upload = obj.image
                upload.seek(0)
                data = upload.read()
                try:
                    images.add_product_image(form.instance, data, upload.name, alt=obj.alt, position=obj.position)
                except ValidationError as exc:
                    messages.error(request, exc.messages[0])
            else:
                obj.save()

    def _save_variants(self, request, form, formset):
        """Variant rows: new ones and option changes are saved as they are; stock changes go through the stock
        service, and the product's stock is then the sum of its active variants."""
        with transaction.atomic():
            product = stock.lock_products([form.instance.pk])[form.instance.pk]
            formset.save(commit=False)
            for obj in formset.deleted_objects:
                obj.delete()
            for obj in formset.new_objects:
                obj.product = product
                obj.save()
            for obj, changed in formset.changed_objects:
                fields = [f for f in changed if f != "stock"]
                if fields:
                    obj.save(update_fields=fields)
                if "stock" in changed:
                    stock.set_variant_stock(obj, obj.stock)
            stock.sync_product_stock(product)


class ReadOnlyInline(admin.TabularInline):
    """Shown, never added to, changed or deleted: orders change only through checkout and order_flow."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product_link", "sku", "quantity", "unit_price_display", "line_total_display"]
    readonly_fields = fields
    verbose_name = "line"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Product")
    def product_link(self, line):
        label = f"{line.name} ({line.variant_label})" if line.variant_label else line.name
        if line.product_id is None:
            return label
        return format_html('<a href="{}">{}</a>', reverse("admin:shop_product_change", args=[line.product_id]),
                           label)

    @admin.display(description="Unit price")
    def unit_price_display(self, line):
        return format_money(line.unit_price)

    @admin.display(description="Line total")
    def line_total_display(self, line):
        return format_money(line.line_total)


class StatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ["at", "from_label", "to_label", "by", "note"]
    readonly_fields = fields
    verbose_name = "status change"
    verbose_name_plural = "status history"

    @admin.display(description="From")
    def from_label(self, change):
        return Order.Status(change.from_status).label if change.from_status in Order.Status.values else "-"

    @admin.display(description="To")
    def to_label(self, change):
        return Order.Status(change.to_status).label if change.to_status in Order.Status.values else change.to_status


def _transition_action(to_status):
    label = Order.Status(to_status).label.lower()

    def act(modeladmin, request, queryset):
        done = 0
        for order in queryset.order_by("pk"):
            try:
                order_flow.transition(order, to_status, by=request.user, note="admin")
                done += 1
            except order_flow.TransitionNotAllowed as exc:
                messages.warning(request, str(exc))
        messages.info(request, f"{done} order(s) marked {label}.")

    act.__name__ = f"mark_{to_status}"
    act.short_description = f"Mark selected orders {label}"
    act.allowed_permissions = ("change",)
    return act


PAYMENT_LABELS = {**dict(payments.choices()), "import": "Imported sale"}
STATUS_COLOURS = {"pending": "#b58105", "paid": "#0b7285", "shipped": "#1c7ed6", "delivered": "#2b8a3e",
                  "cancelled": "#868e96", "refunded": "#c92a2a"}
NEXT_STEPS = ["paid", "shipped", "delivered", "refunded", "cancelled"]  # the buttons' order: forward first
BUTTON_LABELS = {"paid": "Mark paid", "shipped": "Mark shipped", "delivered": "Mark delivered",
                 "cancelled": "Cancel order", "refunded": "Refund"}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "placed", "customer", "total_display", "status_label", "payment_label"]
    list_filter = ["status", "payment_method", "created_at"]
    search_fields = ["number", "email", "full_name"]
    date_hierarchy = "created_at"
    readonly_fields = ["number", "status_label", "user", "email", "total_display", "amounts", "payment_label",
                       "payment_reference", "created_at", "updated_at", "session_key"]
    fieldsets = [
        (None, {"fields": ["number", "status_label", "created_at", "total_display", "amounts", "payment_label",
                           "payment_reference"]}),
        ("Customer", {"fields": ["user", "email", "full_name", "address_line1", "address_line2", "postal_code",
                                 "city", "country"]}),
        ("Technical", {"classes": ["collapse"], "fields": ["session_key", "updated_at"]}),
    ]
    inlines = [OrderLineInline, StatusChangeInline]
    actions = [_transition_action(s) for s in ("paid", "shipped", "delivered", "cancelled", "refunded")]
    list_select_related = ["user"]
    change_form_template = "admin/shop/order/change_form.html"
    list_per_page = 50

    def has_add_permission(self, request):
        return False  # orders come from checkout and imports

    def has_delete_permission(self, request, obj=None):
        return False  # cancel or refund instead: the history is the forecaster's data

    @admin.display(description="Placed", ordering="created_at")
    def placed(self, order):
        return timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Customer", ordering="full_name")
    def customer(self, order):
        return format_html("{}<br><span style='color: var(--body-quiet-color)'>{}</span>", order.full_name,
                           order.email)

    @admin.display(description="Total", ordering="total")
    def total_display(self, order):
        return f"{order.total:,.2f} {order.currency}"

    @admin.display(description="Made of")
    def amounts(self, order):
        vat = f"incl. {format_money(order.vat)} VAT" if order.prices_include_vat else f"+ {format_money(order.vat)} VAT"
        delivery = f"{format_money(order.shipping_cost)} delivery ({order.shipping_method or 'none recorded'})"
        return f"{format_money(order.subtotal)} goods + {delivery}, {vat}"

    @admin.display(description="Status", ordering="status")
    def status_label(self, order):
        return format_html('<strong style="color: {}">{}</strong>', STATUS_COLOURS.get(order.status, "inherit"),
                           order.get_status_display())

    @admin.display(description="Payment", ordering="payment_method")
    def payment_label(self, order):
        return PAYMENT_LABELS.get(order.payment_method, order.payment_method)

    def get_urls(self):
        return [path("<int:pk>/transition/", self.admin_site.admin_view(self.transition_view),
                     name="shop_order_transition")] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        order = self.get_object(request, object_id)
        if order is not None and self.has_change_permission(request, order):
            allowed = sorted(order_flow.allowed(order), key=lambda s: NEXT_STEPS.index(s) if s in NEXT_STEPS else 99)
            extra_context["transitions"] = [(s, BUTTON_LABELS.get(s, s), Order.Status(s).label) for s in allowed]
        return super().change_view(request, object_id, form_url, extra_context)

    def transition_view(self, request, pk):
        """POST to=<status>: one step of shop.order_flow (the buttons on the order page)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = get_object_or_404(Order, pk=pk)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        to_status = request.POST.get("to", "")
        url = reverse("admin:shop_order_change", args=[order.pk])
        if to_status not in Order.Status.values:
            messages.error(request, "Unknown status.")
            return HttpResponseRedirect(url)
        try:
            order_flow.transition(order, to_status, by=request.user, note="admin")
        except order_flow.TransitionNotAllowed as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Order {order.number} is now {order.get_status_display().lower()}.")
        return HttpResponseRedirect(url)


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records the shop writes itself (stock-out periods, storefront events): the forecaster's data, not edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockOut)
class StockOutAdmin(ViewOnlyAdmin):
    list_display = ["product", "started_at", "ended_at"]
    list_select_related = ["product"]


@admin.register(Event)
class EventAdmin(ViewOnlyAdmin):
    list_display = ["kind", "at", "product", "source", "query", "session_key"]
    list_filter = ["kind", "source"]
    list_select_related = ["product"]
    show_full_result_count = False


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """Emails waiting or sent (shop.outbox). An email with attempts and an error is retried every minute."""

    list_display = ["subject", "to", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "key"]
    readonly_fields = ["key", "to", "subject", "body", "created_at", "sent_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False
