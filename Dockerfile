# unihub in a container: what `make run` does (`unihub serve`, which migrates first), bound to
# every interface. docker-compose.yml adds PostgreSQL, Redis and a one-shot migration.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UNIHUB_DATA_DIR=/data

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin unihub \
    && mkdir -p /data && chown unihub:unihub /data

WORKDIR /src
COPY . .
# The package only: no dev extra.
RUN pip install . && rm -rf /src

WORKDIR /data
USER unihub
# The SQLite database, the generated secret key and the bootstrap credentials live here.
VOLUME ["/data"]
EXPOSE 8080

# Ready (200 from /readyz: the database answers) or unhealthy; urlopen raises on any error.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('UNIHUB_PORT', '8080'), timeout=2)"]

CMD ["unihub", "serve", "--host", "0.0.0.0"]
