# adherence-bot: the package built from pyproject.toml, run as a non-root user.
#   docker build -t adherence-bot .
#   docker run --env-file deploy/bot.env adherence-bot run        (see docs/deploy.md)

# Build a wheel of the project (and of nothing else) from pyproject.toml.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY presentation ./presentation
COPY services ./services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HEALTH_PORT=3000
# Install the wheel and its dependencies at the versions pinned in constraints.txt (`make lock`, the
# same versions the tests ran on), then drop the wheel.
COPY --from=build /wheels /wheels
COPY constraints.txt /wheels/constraints.txt
RUN pip install --no-cache-dir -c /wheels/constraints.txt /wheels/*.whl && rm -rf /wheels
COPY config/example.toml /etc/adherence-bot/example.toml
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/bot bot
USER 10001:10001
WORKDIR /home/bot
# /health (and /slack/events with --http) are served on --port, 3000 by default; keep HEALTH_PORT in step.
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['HEALTH_PORT']}/health\", timeout=4)"]
ENTRYPOINT ["adherence-bot"]
CMD ["run"]
