# crisiswatch: one image for the flow, the API, the worker and the connectors (compose.yaml).
# Build stage: the wheel and its dependencies into a virtual environment (compilers here
# only, in case a dependency has no wheel for this platform). Run stage: that environment
# on a slim Python, as a user without privileges, with no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY . /src
RUN python -m venv /opt/crisiswatch && /opt/crisiswatch/bin/pip install /src

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 crisiswatch \
    && mkdir -p /var/lib/crisiswatch && chown crisiswatch /var/lib/crisiswatch
COPY --from=build /opt/crisiswatch /opt/crisiswatch
COPY configs /app/configs
ENV PATH=/opt/crisiswatch/bin:$PATH PYTHONUNBUFFERED=1 \
    CRISISWATCH_CONFIG=/app/configs/production.yaml
WORKDIR /app
USER crisiswatch
EXPOSE 8000
# The API's /health needs no key; the flow and the worker report through it (compose
# turns this check off for them).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["crisiswatch", "api", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
