# PostgreSQL from Debian bookworm's packages (version 15), behaving like the public postgres image for what
# docker-compose.yml uses: POSTGRES_DB / POSTGRES_USER / POSTGRES_PASSWORD create the database on first start,
# data in /var/lib/postgresql/data, pg_isready for the health check.
ARG DEBIAN_IMAGE=shop-debian/bookworm:latest
FROM ${DEBIAN_IMAGE}

ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PGDATA=/var/lib/postgresql/data \
    PATH=/usr/lib/postgresql/15/bin:$PATH
# No default cluster: the entrypoint creates one in PGDATA (the volume) on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 "$PGDATA" \
    && install -d -o postgres -g postgres -m 2775 /run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint.sh"]
CMD ["postgres"]
