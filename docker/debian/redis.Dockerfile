# Redis from Debian bookworm's packages (7.0), behaving like the public redis image for what docker-compose.yml
# uses: `redis-server [options]` as the command, data in /data, redis-cli for the health check.
ARG DEBIAN_IMAGE=shop-debian/bookworm:latest
FROM ${DEBIAN_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o redis -g redis -m 0750 /data
COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["redis-entrypoint.sh"]
CMD ["redis-server"]
