# Northstar: API and scheduler in one container. Build: docker build -t northstar .
# Run:  docker run -e NORTHSTAR_ENCRYPTION_KEY=... \
#         -e NORTHSTAR_DATABASE_URL=postgresql+psycopg://user:pass@db/northstar -p 8000:8000 northstar

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY connectors ./connectors
COPY migrations ./migrations
# A real (non-editable) install: connectors are found through the installed entry points.
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 northstar
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NORTHSTAR_ENVIRONMENT=production \
    NORTHSTAR_HOST=0.0.0.0 \
    NORTHSTAR_PORT=8000 \
    NORTHSTAR_LOG_FORMAT=json \
    NORTHSTAR_DATABASE_URL=sqlite:////home/northstar/data/northstar.db
USER northstar
WORKDIR /home/northstar
RUN mkdir -p data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"]
CMD ["sh", "-c", "northstar migrate && exec northstar serve"]
