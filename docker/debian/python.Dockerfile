# Python 3.11 from Debian bookworm's packages, on the base that scripts/compose_smoke.sh makes with debootstrap.
# It stands in for the public python:3.11-slim image where no image registry can be reached:
#   docker build -f docker/debian/python.Dockerfile --build-arg DEBIAN_IMAGE=shop-debian/bookworm \
#       -t shop-debian/python:3.11 docker/debian
# The shop's Dockerfile then takes it as its base: --build-arg BASE_IMAGE=shop-debian/python:3.11
ARG DEBIAN_IMAGE=shop-debian/bookworm:latest
FROM ${DEBIAN_IMAGE}

# Debian's trust store (with any local CAs build-base.sh copied in) for pip and Python's ssl module.
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python
CMD ["python3"]
