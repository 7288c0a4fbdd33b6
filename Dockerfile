# Both images from one file, so their base, uv and install steps cannot drift apart:
#
#   docker build --target miner-runtime -t sparket-miner-runtime:dev .
#   docker build --target operator      -t sparket-operator:dev .
#
# Multi-stage: uv installs one workspace member's locked dependencies (no dev tools) into
# /opt/venv; the final stages hold only Python and that virtualenv and run as a non-root
# user. The miner takes its wallet as a read-only mount: nothing secret in an image or its
# environment. Not yet built by CI (issue 7).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS workspace
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY operator/pyproject.toml operator/pyproject.toml
COPY miner_runtime/pyproject.toml miner_runtime/pyproject.toml
COPY tools/devkit/pyproject.toml tools/devkit/pyproject.toml
RUN uv venv /opt/venv

FROM workspace AS miner-runtime-build
COPY miner_runtime/src miner_runtime/src
RUN VIRTUAL_ENV=/opt/venv uv sync --locked --no-dev --package miner-runtime --active --no-editable

FROM workspace AS operator-build
COPY operator/src operator/src
RUN VIRTUAL_ENV=/opt/venv uv sync --locked --no-dev --package sparket-operator --active --no-editable

FROM ${PYTHON_IMAGE} AS runtime-base
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001

FROM runtime-base AS miner-runtime
COPY --from=miner-runtime-build /opt/venv /opt/venv
EXPOSE 8094 8198
ENTRYPOINT ["python", "-m", "miner_runtime"]
CMD ["serve"]

FROM runtime-base AS operator
COPY --from=operator-build /opt/venv /opt/venv
ENTRYPOINT ["python", "-m", "sparket_operator"]
