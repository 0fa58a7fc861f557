# moto's S3 server, standing in for MinIO where no image registry can be reached. Same version as
# requirements-dev.txt (tests/ops checks they agree). It accepts any credentials and keeps objects in memory.
ARG PYTHON_IMAGE=shop-debian/python:3.11
FROM ${PYTHON_IMAGE}

ARG MOTO_VERSION=5.1.16
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
RUN python3 -m venv /opt/venv && pip install "moto[server]==${MOTO_VERSION}"
EXPOSE 9000
USER nobody
CMD ["moto_server", "--host", "0.0.0.0", "--port", "9000"]
