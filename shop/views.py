"""Storefront pages. Thin: the rules live in cart, checkout, order_flow, search."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseServerError, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.http import require_POST
from django.utils.functional import SimpleLazyObject
from django.views.defaults import page_not_found

from . import cart as carts
from . import catalog, events, limits, order_flow, pagecache, pricing, resilience, shipping, versions
from . import checkout as checkout_mod
from . import search as search_mod
from .forms import AddToCartForm, CheckoutForm, ShopPasswordResetForm, SignupForm
from .models import Event, Order, Product

ORDERS_IN_SESSION = "order_numbers"


def _page(request, queryset, number=None):
    paginator = Paginator(queryset, settings.SHOP_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page") if number is None else number)


def _page_number(request) -> int:
    """The requested page number as the paginator reads it (anything else is page 1; past the end, the last)."""
    raw = request.GET.get("page", "")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def _sort(request) -> str:
    key = request.GET.get("sort", catalog.DEFAULT_SORT)
    return key if key in catalog.SORTS else catalog.DEFAULT_SORT


def _popular(limit=8):
    return catalog.in_stock_first(Product.objects.for_listing(), "-popularity", "name")[:limit]


def _canonical_query(**params) -> QueryDict:
    """The query string a page's own links start from: only the parameters the page reads, in a fixed order (a
    kept page is the same for every spelling of its URL)."""
    q = QueryDict(mutable=True)
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            q.setlist(key, [str(v) for v in value])
        elif value not in (None, "", False):
            q[key] = "1" if value is True else str(value)
    return q


def home(request):
    def build():
        featured = list(_popular())
        newest = list(catalog.in_stock_first(Product.objects.for_listing(), "-created_at", "name")[:8])
        return pagecache.Page("shop/home.html", {"featured": featured, "newest": newest}, deps=[versions.LISTS],
                              slot_context={"page_products": [p.pk for p in featured + newest]})

    return pagecache.respond(request, pagecache.page(request, ("home",), build))


def category(request, slug):
    sort = _sort(request)
    filters = catalog.Filters.from_query(request.GET)
    number = _page_number(request)
    key = ("category", slug, sort, tuple(filters.colours), tuple(filters.sizes), filters.min_price,
           filters.max_price, filters.in_stock, number)

    def build():
        tree = catalog.tree_for(request)
        cat = tree.by_slug.get(slug)
        if cat is None:
            raise Http404("No such category")
        products, facets = catalog.listing(tree.descendant_ids(cat), filters, sort)
        query = _canonical_query(colour=filters.colours, size=filters.sizes, min=filters.min_price,
                                 max=filters.max_price, stock=filters.in_stock,
                                 sort=sort if sort != catalog.DEFAULT_SORT else None, page=number)
        return pagecache.Page("shop/category.html", {
            "category": cat, "breadcrumbs": tree.path(cat)[:-1], "children": tree.children.get(cat.pk, []),
            "page": _page(request, products, number), "sort": sort,
            "sorts": {k: v[0] for k, v in catalog.SORTS.items()}, "filters": filters, "facets": facets,
            "source": "list", "query_params": query,
        }, deps=[versions.LISTS])

    return pagecache.respond(request, pagecache.page(request, key, build))


def _slot_copy(prod: Product) -> Product:
    """The product as slot renderers get it on a kept page: its own fields, nothing prefetched."""
    return Product(**{f.attname: getattr(prod, f.attname) for f in Product._meta.concrete_fields
                      if f.attname != "search_vector"})


def product(request, slug):
    source = request.GET.get("src", "")
    source = source if source in Event.Source.values else "direct"
    chosen = request.GET.get("size", "")[:40]

    def build():
        prod = get_object_or_404(Product.objects.for_listing(), slug=slug)
        variants = prod.sellable_variants()
        return pagecache.Page("shop/product.html", {
            "product": prod, "images": list(prod.images.all()), "form": AddToCartForm(), "variants": variants,
            "chosen_variant": next((v for v in variants if str(v.pk) == chosen or v.size == chosen), None),
            "sold_out_variants": any(not v.in_stock for v in variants),
            "max_quantity": settings.SHOP_MAX_LINE_QUANTITY, "source": source,
            "breadcrumbs": catalog.tree_for(request).path(prod.category),
            "attributes": sorted((k, v) for k, v in (prod.attributes or {}).items()),
        }, deps=[versions.product_key(prod.pk)], meta={"product_id": prod.pk},
            slot_context={"product": _slot_copy(prod)})

    entry = pagecache.page(request, ("product", slug, source, chosen), build)
    ref = events.link_ref(request) if source != "direct" else ""
    events.log(request, Event.Kind.VIEW, entry.meta["product_id"], source=source,
               data={"ref": ref} if ref else None)
    return pagecache.respond(request, entry)


def search(request):
    query = request.GET.get("q", "").strip()[:search_mod.MAX_QUERY]
    number = _page_number(request)

    def build():
        page = corrected = None
        if search_mod.words(query):
            page = _page(request, search_mod.search_products(query), number)
            if page.paginator.count == 0:
                alternative = search_mod.suggest(query)
                if alternative:
                    retry = _page(request, search_mod.search_products(alternative), number)
                    if retry.paginator.count:
                        page, corrected = retry, alternative
        empty = page is None or page.paginator.count == 0
        return pagecache.Page("shop/search.html", {
            "query": query, "page": page, "corrected": corrected, "empty": empty, "source": "search",
            "popular": list(_popular(4)) if empty else [],
            "query_params": _canonical_query(q=query, page=number),
        }, deps=[versions.LISTS], meta={"count": page.paginator.count if page is not None else None})

    entry = pagecache.page(request, ("search", query, number), build)
    if entry.meta["count"] is not None:
        events.log(request, Event.Kind.SEARCH, query=query, quantity=entry.meta["count"])
    return pagecache.respond(request, entry)


def cart_view(request):
    lines = carts.line_keys(request)
    request._cart_count = sum(q for _, _, q in lines)  # the badge (shop.pagecache.cart_link) needs no query
    found = {}

    def the_cart():  # read once, and only if the page is built or a slot's renderer asks for it
        if "cart" not in found:
            found["cart"] = carts.get_cart(request) if lines else None
        return found["cart"]

    cart = SimpleLazyObject(the_cart)

    def build():
        page = _cart_page(the_cart())
        page.deps = [versions.product_key(pid) for pid in dict.fromkeys(pid for pid, _, _ in lines)]
        return page

    # Kept per content: every cart with the same lines is the same page (an empty cart is one page for everyone);
    # the slots get this visitor's cart.
    entry = pagecache.page(request, ("cart", lines), build)
    return pagecache.respond(request, entry, {"cart": cart, "summary": entry.slot_context["summary"]})


def _cart_page(cart) -> pagecache.Page:
    summary = carts.summary(cart)
    estimate = shipping.estimate(summary.total)
    return pagecache.Page("shop/cart.html", {
        "cart": cart, "summary": summary, "max_quantity": settings.SHOP_MAX_LINE_QUANTITY,
        "cart_totals": pricing.totals(summary.total, estimate.cost if estimate else 0),
        "free_shipping_gap": shipping.free_shipping_gap(summary.total),
    }, slot_context={"summary": summary})


@require_POST
def cart_add(request, product_id):
    prod = get_object_or_404(Product.objects.active(), pk=product_id)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 1 and 999.")
        return redirect(prod)
    qty = form.cleaned_data["quantity"]
    try:
        variant = carts.resolve_variant(prod, form.cleaned_data.get("variant"))
        carts.add(carts.get_cart(request, create=True), prod, qty, variant)
    except carts.CartError as exc:
        messages.error(request, str(exc))
        return redirect(prod)
    events.log(request, Event.Kind.CART_ADD, prod, quantity=qty, source=form.cleaned_data.get("source", "")[:16],
               variant=variant)
    label = f"{prod.name} ({variant.label})" if variant else prod.name
    messages.success(request, f"Added {qty} x {label} to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_update(request, product_id):
    """Set the quantity of a cart line (0 removes it); `variant` names the size of a product with variants."""
    cart = carts.get_cart(request)
    prod = get_object_or_404(Product, pk=product_id)
    if cart is None:
        return redirect("shop:cart")
    try:
        qty = int(request.POST.get("quantity", "0"))
    except ValueError:
        messages.error(request, "Quantity must be a number.")
        return redirect("shop:cart")
    variant_id = request.POST.get("variant") or None
    line = cart.lines.filter(product=prod, variant_id=variant_id if str(variant_id or "").isdigit() else None).first()
    if line is None:
        messages.error(request, "That product is not in your cart any more.")
        return redirect("shop:cart")
    before, variant = line.quantity, line.variant
    try:
        carts.set_quantity(cart, prod, qty, variant)
    except carts.CartError as exc:
        messages.error(request, str(exc))
        return redirect("shop:cart")
    if qty <= 0:
        events.log(request, Event.Kind.CART_REMOVE, prod, quantity=before, variant=variant)
    elif qty > before:
        events.log(request, Event.Kind.CART_ADD, prod, quantity=qty - before, variant=variant)
    elif qty < before:
        events.log(request, Event.Kind.CART_REMOVE, prod, quantity=before - qty, variant=variant)
    return redirect("shop:cart")


def _remember_order(request, number: str) -> None:
    request.session[ORDERS_IN_SESSION] = request.session.get(ORDERS_IN_SESSION, [])[-19:] + [number]


def _empty_cart(request):
    """A checkout of an empty cart. When it was a second click on "Place order", show the order the first one
    placed rather than an error."""
    if request.method == "POST":
        order = checkout_mod.recent_order(request.user, events.visitor_id(request))
        if order is not None:
            _remember_order(request, order.number)
            messages.info(request, f"Your order {order.number} is placed.")
            return redirect("shop:order_confirmation", number=order.number)
    messages.info(request, "Your cart is empty.")
    return redirect("shop:cart")


def checkout(request):
    cart = carts.get_cart(request)
    summary = carts.summary(cart)
    if not summary.rows:
        return _empty_cart(request)
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    options = shipping.quotes(summary.total)
    form = CheckoutForm(request.POST or None, initial=initial, shipping_options=options)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            order = checkout_mod.place_order(
                cart, email=d["email"], payment_method=d["payment_method"], user=request.user,
                visitor_id=events.visitor_id(request), shipping_method=d["shipping_method"],
                address=checkout_mod.Address(full_name=d["full_name"], address_line1=d["address_line1"],
                                             address_line2=d["address_line2"], city=d["city"],
                                             postal_code=d["postal_code"], country=d["country"]),
            )
        except checkout_mod.EmptyCart:
            return _empty_cart(request)
        except checkout_mod.CheckoutError as exc:
            messages.error(request, str(exc))
            return redirect("shop:cart")
        _remember_order(request, order.number)
        return redirect("shop:order_confirmation", number=order.number)
    chosen = next((q for q in options if q.code == form["shipping_method"].value()), options[0] if options else None)
    return render(request, "shop/checkout.html", {
        "form": form, "summary": summary, "shipping_options": options, "chosen_code": chosen.code if chosen else "",
        # the totals for each delivery option; the page shows the chosen one (shop.js switches them)
        "option_totals": [(q.code, pricing.totals(summary.total, q.cost)) for q in options]})


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
        "order": order, "can_cancel": order_flow.customer_can_cancel(order),
        "history": order.status_changes.all(),
    })


@require_POST
def order_cancel(request, number):
    order = _own_order(request, number)
    try:
        order_flow.customer_cancel(order, by=request.user if request.user.is_authenticated else None)
        messages.success(request, f"Order {order.number} is cancelled.")
    except order_flow.TransitionNotAllowed as exc:
        messages.error(request, str(exc))
    return redirect(order.get_absolute_url())


@login_required
def account(request):
    orders = Order.objects.filter(user=request.user).prefetch_related("lines")
    return render(request, "shop/account.html", {"page": _page(request, orders)})


@limits.throttle_posts(limits.SignupThrottle)
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your account is ready.")
        return redirect(request.GET.get("next") if (request.GET.get("next") or "").startswith("/")
                        and not request.GET.get("next", "").startswith("//") else "shop:home")
    return render(request, "registration/signup.html", {"form": form})


def server_error(request):
    """The 500 page: rendered without the database or context processors, which may be what failed."""
    html = loader.get_template("500.html").render({"shop_name": settings.SHOP_NAME,
                                                   "contact_email": settings.SHOP_CONTACT_EMAIL})
    return HttpResponseServerError(html)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ShopPasswordResetForm


def favicon(request):
    return redirect(static("shop/favicon.svg"), permanent=True)


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
            resilience.ping()  # with the short REDIS_TIMEOUT: a hung Redis is reported, not waited for
        except Exception as exc:  # noqa: BLE001
            problems["redis"] = exc.__class__.__name__
    status = 503 if problems else 200
    return JsonResponse({"ready": not problems, "problems": problems}, status=status)


def not_found(request, exception=None):
    """404 (handler404): JSON under /api/, where clients expect {"detail": ...}; the shop's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
