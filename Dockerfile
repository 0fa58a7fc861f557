# syntax=docker/dockerfile:1
# The shop image: web (gunicorn), Celery worker and beat all run from it.
#   docker build -t shop .
# requirements.txt pins torch with '===2.13.0' so pip takes the registry (PyPI) build, which carries the CUDA
# libraries: the same image runs on CPU-only hosts and, with docker-compose.gpu.yml, on an NVIDIA GPU.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SHOP_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

# libgomp1: OpenMP runtime for lightgbm and scikit-learn (not in the slim image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --home-dir /app --shell /usr/sbin/nologin shop

WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Code stays root-owned (read-only for the app user); only var, staticfiles and media are writable.
COPY . .
RUN chmod 0755 docker/entrypoint-web.sh \
    && mkdir -p /app/var /app/staticfiles /app/media \
    && chown -R shop:shop /app/var /app/staticfiles /app/media

USER shop
EXPOSE 8000
# The web service's command; worker and beat override it in docker-compose.yml.
CMD ["docker/entrypoint-web.sh"]
