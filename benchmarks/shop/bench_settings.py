"""Settings for the page benchmarks: the real settings plus /__bare__/<page> views (see bench_urls)."""
from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "benchmarks.shop.bench_urls"
