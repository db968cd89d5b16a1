# paperbot: a small image that runs the bot as a non-root user, with the database on the /data volume.
# Build: docker build -t paperbot .   Run: see compose.yaml and docs/self-hosting.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/paperbot.db

WORKDIR /src
# requirements.lock* : the pinned versions when the project has a lock file, else the ranges in pyproject.toml.
COPY pyproject.toml README.md requirements.lock* ./
COPY bot ./bot
COPY cogs ./cogs
RUN if [ -f requirements.lock ]; then pip install -r requirements.lock; fi \
    && pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin paperbot \
    && mkdir -p /data \
    && chown paperbot:paperbot /data

USER paperbot
WORKDIR /data
VOLUME ["/data"]

# The bot shuts down cleanly on SIGTERM (docker stop): the open transaction rolls back, nothing half-written.
STOPSIGNAL SIGTERM
# Healthy = fresh heartbeat, gateway connected, a paper source read recently (python -m bot health).
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 CMD ["python", "-m", "bot", "health"]
CMD ["python", "-m", "bot", "run"]
