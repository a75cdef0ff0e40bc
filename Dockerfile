# Gatehouse server image: slim, non-root, `gatehouse serve` as the entry point, a health check.
#   docker build -t gatehouse .
#   docker run -p 8000:8000 -e GATEHOUSE_MASTER_KEY="$(openssl rand -base64 32)" gatehouse
# The settings are GATEHOUSE_* environment variables (README.md "Settings").
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/gatehouse
COPY pyproject.toml README.md LICENSE constraints.txt /src/
COPY src /src/src
RUN /opt/gatehouse/bin/pip install --constraint /src/constraints.txt /src

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/gatehouse --create-home \
        --shell /usr/sbin/nologin gatehouse \
    && chmod 0700 /var/lib/gatehouse
COPY --from=build /opt/gatehouse /opt/gatehouse
ENV PATH=/opt/gatehouse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEHOUSE_DATA_DIR=/var/lib/gatehouse \
    GATEHOUSE_HOST=0.0.0.0 \
    GATEHOUSE_PORT=8000 \
    GATEHOUSE_LOG_FORMAT=json
USER gatehouse
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('GATEHOUSE_PORT', '8000')}/readyz\", timeout=2).status != 200)"]
ENTRYPOINT ["gatehouse", "serve"]
CMD ["--workers", "2"]
