# Northstar: API and scheduler in one container. See docs/deployment.md; with PostgreSQL,
# `docker compose up -d` (compose.yaml) runs both. Build: docker build -t northstar .
# Run:  docker run -e NORTHSTAR_ENCRYPTION_KEY=... \
#         -e NORTHSTAR_DATABASE_URL=postgresql://user:password@db:5432/northstar \
#         -p 8000:8000 northstar
# The container refuses to start without NORTHSTAR_DATABASE_URL (one line says so). For a
# single container keeping its data in SQLite, choose it explicitly, on the volume:
#       -e NORTHSTAR_DATABASE_URL=sqlite:////data/northstar.db -v northstar-data:/data

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY app ./app
COPY connectors ./connectors
COPY migrations ./migrations
# A real (non-editable) install of what running needs, at the versions requirements.lock
# pins (the same file `make` installs from); connectors are found through the installed
# entry points.
RUN /opt/venv/bin/pip install --quiet -c requirements.lock .

FROM ${PYTHON_IMAGE}
ARG NORTHSTAR_PORT=8000
RUN useradd --create-home --uid 10001 northstar \
    && mkdir -p /data && chown northstar:northstar /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NORTHSTAR_ENVIRONMENT=production \
    NORTHSTAR_HOST=0.0.0.0 \
    NORTHSTAR_PORT=${NORTHSTAR_PORT} \
    NORTHSTAR_LOG_FORMAT=json
USER northstar
WORKDIR /data
# Only a SQLite database chosen as above lives here; with PostgreSQL it stays empty.
VOLUME ["/data"]
EXPOSE ${NORTHSTAR_PORT}
# Asks the service on NORTHSTAR_HOST/NORTHSTAR_PORT as set when the container runs.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["northstar", "healthcheck"]
CMD ["sh", "-c", "northstar migrate && exec northstar serve"]
