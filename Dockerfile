# The registry as one image: the `mandate-registry` command line is the entry point, so the same image runs
# `serve`, `worker` and `db upgrade` (compose.yaml). Slim, no compilers left behind, not root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY registry ./registry
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 REGISTRY_ENVIRONMENT=production
RUN useradd --system --uid 10001 --home-dir /app --create-home registry
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER registry
WORKDIR /app
EXPOSE 8000
ENTRYPOINT ["mandate-registry"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
