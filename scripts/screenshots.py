#!/usr/bin/env python
"""Screenshots of the shop as shoppers and managers see it, in headless Chromium, at desktop and phone widths.

    scripts/run.sh                                   # in another terminal: the demo shop on :8000
    .venv/bin/python scripts/screenshots.py --out /tmp/shots [--url http://127.0.0.1:8000]
                                                     [--admin-user admin --admin-password ...] [--widths 1366,390]

Writes one full-page PNG per page and width (home, category with filters, product with a size chosen, cart,
checkout, admin order page), e.g. /tmp/shots/390-product.png. It adds a product to a cart of its own browser
session and places no order. The admin password defaults to the one scripts/run.sh keeps in var/admin_password.
The images are for looking at; they are not committed.
"""
from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent


def browser(chromium: str, chromedriver: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="shots-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--hide-scrollbars", f"--user-data-dir={profile}", "--window-size=1366,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
    driver.implicitly_wait(3)
    return driver, profile


def shoot(driver, width: int, path: Path) -> None:
    """A full-page screenshot at this CSS width (a phone width is emulated as a mobile viewport)."""
    mobile = width < 768
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 844 if mobile else 900, "deviceScaleFactor": 1,
                            "mobile": mobile})
    # Load every image now (lazy ones too) and wait for them, so the capture has no blank photos.
    driver.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    for _ in range(50):
        if driver.execute_script("return [...document.images].every(i => i.complete)"):
            break
        time.sleep(0.1)
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, "
                                   "document.body.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": min(int(height), 6000), "deviceScaleFactor": 1,
                            "mobile": mobile})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    print(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--widths", default="1366,390")
    ap.add_argument("--admin-user", default="admin")
    ap.add_argument("--admin-password", default=os.environ.get("ADMIN_PASSWORD"))
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    args = ap.parse_args(argv)
    from selenium.webdriver.common.by import By

    password = args.admin_password
    if not password:
        var = Path(os.environ.get("SHOP_VAR_DIR", ROOT / "var"))
        password = (var / "admin_password").read_text().strip() if (var / "admin_password").exists() else ""
    widths = [int(w) for w in args.widths.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/") + "/"
    driver, profile = browser(args.chromium, args.chromedriver)
    try:
        def go(path):
            driver.get(urljoin(base, path.lstrip("/")))

        def take(name):
            for w in widths:
                shoot(driver, w, args.out / f"{w}-{name}.png")

        go("/")
        take("home")
        # A category with filters: the first top-level category, its first colour and in stock only.
        category = driver.find_element(By.CSS_SELECTOR, "#main-nav .nav-link").get_attribute("href")
        driver.get(category)
        colours = driver.find_elements(By.CSS_SELECTOR, "#facet-colour input[name=colour]")
        query = "?stock=1" + (f"&colour={colours[0].get_attribute('value')}" if colours else "")
        driver.get(category + query)
        take("category-filtered")
        # A product with sizes, one chosen (the first sized product of the category, else the first product).
        products = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".product-card a.stretched-link")]
        chosen = None
        for href in products[:12]:
            driver.get(href)
            sizes = driver.find_elements(By.CSS_SELECTOR, "input[name=variant]:not([disabled])")
            if sizes:
                chosen = sizes[min(1, len(sizes) - 1)]
                break
        if chosen is None and products:
            driver.get(products[0])
        if chosen is not None:
            driver.execute_script("arguments[0].click()", chosen)
            time.sleep(0.4)  # the button's colour transition
        take("product")
        if driver.find_elements(By.ID, "add-to-cart"):
            driver.find_element(By.ID, "add-to-cart").click()
        go("/cart/")
        take("cart")
        go("/checkout/")
        take("checkout")
        if password:
            go("/admin/login/")
            driver.find_element(By.NAME, "username").send_keys(args.admin_user)
            driver.find_element(By.NAME, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
            take("admin-index")
            go("/admin/shop/order/")
            take("admin-orders")
            link = driver.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")
            if link:
                driver.get(link[0].get_attribute("href"))
                take("admin-order")
        else:
            print("no admin password (--admin-password or var/admin_password): admin pages skipped", file=sys.stderr)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
