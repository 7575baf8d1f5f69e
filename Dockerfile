# gamegate: slim Python 3.11, non-root, only built wheels installed.
#   docker build -t gamegate .
#   docker run --rm -p 8080:8080 -v gamegate-data:/var/lib/gamegate gamegate serve --demo \
#     --config /app/config/gamegate.toml --host 0.0.0.0 --data-dir /var/lib/gamegate
# The whole stack (two workers on a Redis wallet, Prometheus, Grafana): compose.yaml.
# Production: mount the secret files named in the config under /var/lib/gamegate/secrets/
# (or pass GAMEGATE_SECRET_* / GAMEGATE_OPERATOR_API_KEYS) and use the default command.
# Never set PYTHONOPTIMIZE or run with -O: assertions state invariants and must stay on.

# -- build: gamegate and every dependency as wheels -----------------------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY gateway ./gateway
RUN pip wheel --wheel-dir /wheels .

# -- runtime: the wheels installed, no build tools, no sources ------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 gamegate \
 && useradd --system --uid 10001 --gid gamegate --home-dir /var/lib/gamegate \
      --shell /usr/sbin/nologin gamegate \
 && install -d -o gamegate -g gamegate -m 0700 /var/lib/gamegate

# Installed from the build stage's wheels only (--no-index: nothing else is fetched), and
# compiled to bytecode here: every worker (re)start then skips compiling.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels gamegate

WORKDIR /app
COPY config ./config

USER gamegate
VOLUME ["/var/lib/gamegate"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]

ENTRYPOINT ["gamegate"]
CMD ["serve", "--config", "/app/config/gamegate.toml", "--host", "0.0.0.0", "--data-dir", "/var/lib/gamegate"]
