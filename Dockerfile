# kepbot's server image: python -m bot on port 8080, as a non-root user (or, in hosted
# mode, `python -m bot worker`).
#   docker build -t kepbot .
#   docker run -p 8080:8080 -e GITHUB_WEBHOOK_SECRET=... -e GITHUB_APP_ID=... \
#     -e GITHUB_PRIVATE_KEY="$(cat key.pem)" kepbot

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY config ./config
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=8080
COPY --from=build /src/requirements.lock /tmp/requirements.lock
COPY --from=build /wheels /tmp/wheels
# With the `hosted` extra: the same image runs web and worker processes (README.md).
RUN pip install -c /tmp/requirements.lock "$(ls /tmp/wheels/*.whl)[hosted]" \
    && rm -rf /tmp/wheels /tmp/requirements.lock \
    && useradd --create-home --uid 10001 kepbot
USER kepbot
WORKDIR /home/kepbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
CMD ["python", "-m", "bot"]
