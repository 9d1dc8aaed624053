# The bot as a container: the package built as a wheel, installed into a slim Python image,
# run as an unprivileged user with its database on a volume. Builds from the repository alone:
#     docker build -t altegio-bot .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY conversations ./conversations
COPY standins ./standins
# With psycopg (the postgres extra): DATABASE_URL works in the container too.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOT_DB_PATH=/data/altegio-bot.sqlite3 \
    WEBHOOK_LISTEN=0.0.0.0:8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "$(ls /wheels/altegio_bot-*.whl)[postgres]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin bot \
    && mkdir -p /data && chown bot /data
USER bot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /healthz answers 200 while the bot can serve (see the README); 503 otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; port = os.environ.get('WEBHOOK_LISTEN', '0.0.0.0:8080').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["altegio-bot"]
CMD ["run"]
