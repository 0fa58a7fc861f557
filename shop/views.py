"""Storefront pages. Thin: the rules live in cart, checkout, order_flow, search."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import cart as carts
from . import checkout as checkout_mod
from . import events, order_flow
from .forms import SORTS, AddToCartForm, CheckoutForm, SignupForm
from .models import Category, Event, Order, Product
from .search import search_products

ORDERS_IN_SESSION = "order_numbers"


def _page(request, queryset):
    paginator = Paginator(queryset, settings.SHOP_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _sort(request):
    key = request.GET.get("sort", "popular")
    return (key if key in SORTS else "popular"), SORTS.get(key, SORTS["popular"])


def home(request):
    featured = Product.objects.for_listing().order_by("-popularity", "name")[:8]
    newest = Product.objects.for_listing().order_by("-created_at", "name")[:8]
    return render(request, "shop/home.html", {"featured": featured, "newest": newest})


def category(request, slug):
    cat = get_object_or_404(Category.objects.select_related("parent"), slug=slug)
    children = list(cat.children.all())
    ids = [cat.pk] + [c.pk for c in children]
    sort_key, order_by = _sort(request)
    page = _page(request, Product.objects.for_listing().filter(category_id__in=ids).order_by(*order_by, "pk"))
    return render(request, "shop/category.html", {
        "category": cat, "children": children, "page": page, "sort": sort_key, "sorts": SORTS, "source": "list",
    })


def product(request, slug):
    prod = get_object_or_404(Product.objects.for_listing(), slug=slug)
    source = request.GET.get("src", "")
    events.log(request, Event.Kind.VIEW, prod, source=source if source in Event.Source.values else "direct")
    return render(request, "shop/product.html", {
        "product": prod, "images": list(prod.images.all()), "form": AddToCartForm(),
        "attributes": sorted((k, v) for k, v in (prod.attributes or {}).items()),
    })


def search(request):
    query = request.GET.get("q", "").strip()[:200]
    page = None
    if query:
        page = _page(request, search_products(query))
        events.log(request, Event.Kind.SEARCH, query=query, quantity=page.paginator.count)
    return render(request, "shop/search.html", {"query": query, "page": page, "source": "search"})


def cart_view(request):
    cart = carts.get_cart(request)
    return render(request, "shop/cart.html", {"summary": carts.summary(cart)})


@require_POST
def cart_add(request, product_id):
    prod = get_object_or_404(Product.objects.active(), pk=product_id)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 1 and 999.")
        return redirect(prod)
    qty = form.cleaned_data["quantity"]
    try:
        carts.add(carts.get_cart(request, create=True), prod, qty)
    except carts.CartError as exc:
        messages.error(request, str(exc))
        return redirect(prod)
    events.log(request, Event.Kind.CART_ADD, prod, quantity=qty, source=form.cleaned_data.get("source", "")[:16])
    messages.success(request, f"Added {qty} x {prod.name} to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_update(request, product_id):
    cart = carts.get_cart(request)
    prod = get_object_or_404(Product, pk=product_id)
    if cart is None:
        return redirect("shop:cart")
    try:
        qty = int(request.POST.get("quantity", "0"))
    except ValueError:
        messages.error(request, "Quantity must be a number.")
        return redirect("shop:cart")
    try:
        before = next((l.quantity for l in cart.lines.filter(product=prod)), 0)
        carts.set_quantity(cart, prod, qty)
        if qty <= 0:
            events.log(request, Event.Kind.CART_REMOVE, prod, quantity=before)
        elif qty > before:
            events.log(request, Event.Kind.CART_ADD, prod, quantity=qty - before)
        elif qty < before:
            events.log(request, Event.Kind.CART_REMOVE, prod, quantity=before - qty)
    except carts.CartError as exc:
        messages.error(request, str(exc))
    return redirect("shop:cart")


def checkout(request):
    cart = carts.get_cart(request)
    summary = carts.summary(cart)
    if not summary.rows:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = CheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            order = checkout_mod.place_order(
                cart, email=d["email"], payment_method=d["payment_method"], user=request.user,
                visitor_id=events.visitor_id(request),
                address=checkout_mod.Address(full_name=d["full_name"], address_line1=d["address_line1"],
                                             address_line2=d["address_line2"], city=d["city"],
                                             postal_code=d["postal_code"], country=d["country"]),
            )
        except checkout_mod.CheckoutError as exc:
            messages.error(request, str(exc))
            return redirect("shop:cart")
        request.session[ORDERS_IN_SESSION] = request.session.get(ORDERS_IN_SESSION, [])[-19:] + [order.number]
        return redirect("shop:order_confirmation", number=order.number)
    return render(request, "shop/checkout.html", {"form": form, "summary": summary})


def _own_order(request, number) -> Order:
    """An order the visitor may see: their own account's, or one placed in this browser session."""
    qs = Order.objects.prefetch_related("lines")
    if request.user.is_authenticated:
        order = qs.filter(number=number, user=request.user).first()
        if order:
            return order
    if number in request.session.get(ORDERS_IN_SESSION, []):
        order = qs.filter(number=number).first()
        if order:
            return order
    raise Http404("No such order")


def order_confirmation(request, number):
    return render(request, "shop/order_confirmation.html", {"order": _own_order(request, number)})


def order_detail(request, number):
    order = _own_order(request, number)
    return render(request, "shop/order_detail.html", {
        "order": order, "can_cancel": order.status == Order.Status.PENDING,
        "history": order.status_changes.all(),
    })


@require_POST
def order_cancel(request, number):
    order = _own_order(request, number)
    try:
        order_flow.transition(order, Order.Status.CANCELLED, by=request.user if request.user.is_authenticated
                              else None, note="cancelled by customer")
        messages.success(request, f"Order {order.number} is cancelled.")
    except order_flow.TransitionNotAllowed as exc:
        messages.error(request, str(exc))
    return redirect(order.get_absolute_url())


@login_required
def account(request):
    orders = Order.objects.filter(user=request.user).prefetch_related("lines")
    return render(request, "shop/account.html", {"page": _page(request, orders)})


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your account is ready.")
        return redirect(request.GET.get("next") if (request.GET.get("next") or "").startswith("/")
                        and not request.GET.get("next", "").startswith("//") else "shop:home")
    return render(request, "registration/signup.html", {"form": form})


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def readyz(request):
    problems = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - report any failure
        problems["database"] = exc.__class__.__name__
    if settings.REDIS_URL:
        try:
            events.redis_client().ping()
        except Exception as exc:  # noqa: BLE001
            problems["redis"] = exc.__class__.__name__
    status = 503 if problems else 200
    return JsonResponse({"ready": not problems, "problems": problems}, status=status)
