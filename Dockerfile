# promoledger: a slim image that runs as an unprivileged user.
#   docker build -t promoledger .
#   docker run -p 8000:8000 -v promoledger-data:/var/lib/promoledger promoledger
# With no PROMOLEDGER_DATABASE_URL it serves the SQLite file in the volume (created on first
# start); compose.yaml runs it on PostgreSQL instead.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/promoledger
# The pinned versions the test suite passed with (constraints.txt), installed without the dev tools.
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY src ./src
RUN /opt/promoledger/bin/pip install --constraint constraints.txt . \
    && /opt/promoledger/bin/promoledger --version

FROM python:3.11-slim
RUN groupadd --system --gid 10001 promoledger \
    && useradd --system --uid 10001 --gid promoledger --no-log-init \
       --home-dir /var/lib/promoledger --create-home --shell /usr/sbin/nologin promoledger
COPY --from=build /opt/promoledger /opt/promoledger
ENV PATH=/opt/promoledger/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROMOLEDGER_DATABASE_URL=sqlite:////var/lib/promoledger/promoledger.db \
    PROMOLEDGER_LOG_FORMAT=json
USER promoledger:promoledger
WORKDIR /var/lib/promoledger
VOLUME ["/var/lib/promoledger"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# SIGTERM: stop accepting, let running requests finish (PROMOLEDGER_GRACEFUL_SHUTDOWN_SECONDS).
STOPSIGNAL SIGTERM
ENTRYPOINT ["promoledger"]
# --create: the volume starts empty; the path is fixed by the image, so no typo can hide here.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--create"]
