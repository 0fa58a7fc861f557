# The shop's images, two targets of one Dockerfile:
#   web     gunicorn and Celery beat: requirements-web.txt, no torch    docker build --target web -t shop-web .
#   worker  the Celery worker that trains the models: requirements.txt (the web set plus torch and the other ML
#           pins); the default target, so `docker build -t shop .` gives the complete image
# torch is pinned with '===2.13.0' so pip takes the registry (PyPI) build, which carries the CUDA libraries: the
# same worker image runs on CPU-only hosts and, with docker-compose.gpu.yml, on an NVIDIA GPU.
#
# BASE_IMAGE: any Debian-based image with python3.11 and its venv module. Without an image registry, build one
# from Debian's packages (docker/debian/build-base.sh) and pass --build-arg BASE_IMAGE=shop-debian/python:3.11.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    SHOP_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media
# libgomp1: OpenMP runtime for lightgbm and scikit-learn. The packages go into a virtual environment, which
# works the same on the python image and on Debian's python3 (which refuses a system-wide pip install).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv "$VIRTUAL_ENV" \
    && groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --home-dir /app --shell /usr/sbin/nologin shop \
    && mkdir -p /app/var /app/staticfiles /app/media \
    && chown shop:shop /app/var /app/staticfiles /app/media
WORKDIR /app
# Dependencies before the code, so a code change does not reinstall them.
COPY requirements-web.txt ./
RUN pip install -r requirements-web.txt

FROM base AS web
# Code stays root-owned (read-only for the app user); only var, staticfiles and media are writable.
COPY . .
USER shop
EXPOSE 8000
# The web service's command; beat overrides it in docker-compose.yml.
CMD ["docker/entrypoint-web.sh"]

FROM base AS worker
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
USER shop
CMD ["celery", "-A", "config", "worker", "--loglevel=INFO"]
