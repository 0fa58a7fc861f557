from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import images, order_flow, stock
from .models import Category, Event, Order, OrderLine, OrderStatusChange, Product, ProductImage, Promotion, StockOut


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "position"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent"]


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "position"]

    def clean_image(self):
        f = self.cleaned_data.get("image")
        if f and hasattr(f, "read") and not getattr(f, "_committed", True):
            f.seek(0)
            data = f.read()
            f.seek(0)
            images.validate_image_bytes(data, getattr(f, "name", "upload"))
        return f


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1


class PromotionInline(admin.TabularInline):
    model = Promotion
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "category", "price", "stock", "is_active", "popularity"]
    list_filter = ["is_active", "category"]
    search_fields = ["name", "sku"]
    list_select_related = ["category"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProductImageInline, PromotionInline]
    readonly_fields = ["popularity", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        new_stock = obj.stock
        if change and "stock" in form.changed_data:
            obj.stock = form.initial["stock"]  # the stock service makes the change (and the stock-out record)
            super().save_model(request, obj, form, change)
            stock.set_stock(obj, new_stock)
        else:
            super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
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


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["product", "sku", "name", "unit_price", "quantity"]
    can_delete = False


class StatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "at", "by", "note"]
    can_delete = False


def _transition_action(to_status):
    def act(modeladmin, request, queryset):
        done = 0
        for order in queryset:
            try:
                order_flow.transition(order, to_status, by=request.user, note="admin")
                done += 1
            except order_flow.TransitionNotAllowed as exc:
                messages.warning(request, str(exc))
        messages.info(request, f"{done} order(s) marked {to_status}.")

    act.__name__ = f"mark_{to_status}"
    act.short_description = f"Mark selected orders {to_status}"
    return act


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "payment_method"]
    search_fields = ["number", "email", "full_name"]
    readonly_fields = ["number", "user", "session_key", "status", "total", "currency", "payment_method",
                       "payment_reference", "created_at", "updated_at"]
    inlines = [OrderLineInline, StatusChangeInline]
    actions = [_transition_action(s) for s in ("paid", "shipped", "delivered", "cancelled", "refunded")]
    list_select_related = ["user"]


@admin.register(StockOut)
class StockOutAdmin(admin.ModelAdmin):
    list_display = ["product", "started_at", "ended_at"]
    list_select_related = ["product"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["kind", "at", "product", "source", "query", "session_key"]
    list_filter = ["kind", "source"]
    list_select_related = ["product"]
    show_full_result_count = False
