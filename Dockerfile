# Both images from one file, so their base, uv and install steps cannot drift apart:
#
#   docker build --target miner-runtime -t sparket-miner-runtime:0.1.0 .
#   docker build --target operator      -t sparket-operator:0.1.0 .
#
# Multi-stage: uv installs one workspace member's locked dependencies (no dev tools) into
# /opt/venv; the final stages hold only Python and that virtualenv and run as a non-root
# user (10001). The miner takes its wallet as a read-only mount: nothing secret in an image
# or its environment. Built and run by CI through tools/images/build-local.sh (tests/images).
#
# Only PyPI is needed besides the base image: uv comes from its PyPI wheel, not from a
# container registry. PYTHON_IMAGE may be any Debian-based Python 3.11 image that has
# `python3` with the venv module, e.g. the one tools/images/build-local.sh makes from the
# Debian archive where no registry is reachable (it builds both targets with podman).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# SSL_CERT_FILE (optional build argument, in every stage that downloads): a CA bundle for
# networks whose TLS is intercepted, as a path the build can read, e.g. a `podman build -v`
# mount. Unset, pip and uv use their own roots. It is a build-time variable only: never in an
# image's environment or layers.

# uv's PyPI wheel carries the uv binary; it is installed into a throwaway virtualenv and
# only the binary goes on.
FROM ${PYTHON_IMAGE} AS uv
ARG UV_VERSION=0.13.9
ARG SSL_CERT_FILE
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
        ${SSL_CERT_FILE:+--cert "$SSL_CERT_FILE"} "uv==${UV_VERSION}" \
    && /opt/uv/bin/uv --version

FROM ${PYTHON_IMAGE} AS workspace
COPY --from=uv /opt/uv/bin/uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 \
    VIRTUAL_ENV=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY operator/pyproject.toml operator/pyproject.toml
COPY miner_runtime/pyproject.toml miner_runtime/pyproject.toml
COPY tools/local_services/pyproject.toml tools/local_services/pyproject.toml
COPY tools/local_validator/pyproject.toml tools/local_validator/pyproject.toml
COPY tools/local_cluster/pyproject.toml tools/local_cluster/pyproject.toml
COPY tools/pricing_eval/pyproject.toml tools/pricing_eval/pyproject.toml
COPY tools/testkit/pyproject.toml tools/testkit/pyproject.toml
RUN uv venv --python 3.11 /opt/venv

# Dependencies first, from the lock and project files only: a source change rebuilds the
# last, small layer, not the dependency layer.
FROM workspace AS miner-runtime-build
ARG SSL_CERT_FILE
RUN uv sync --locked --no-dev --package miner-runtime --active --no-install-workspace
COPY miner_runtime/src miner_runtime/src
RUN uv sync --locked --no-dev --package miner-runtime --active --no-editable

FROM workspace AS operator-build
ARG SSL_CERT_FILE
RUN uv sync --locked --no-dev --package sparket-operator --active --no-install-workspace
COPY operator/src operator/src
RUN uv sync --locked --no-dev --package sparket-operator --active --no-editable

FROM ${PYTHON_IMAGE} AS runtime-base
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# A name for uid 10001: getpass.getuser() (kopf calls it for its identity when POD_ID is
# unset) raises KeyError for a uid missing from /etc/passwd, and the operator died on it
# as its first real pod (tests/real_node/test_operator_pod.py).
RUN echo 'sparket:x:10001:10001:sparket:/tmp:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'sparket:x:10001:' >> /etc/group
USER 10001:10001

FROM runtime-base AS miner-runtime
COPY --from=miner-runtime-build /opt/venv /opt/venv
# bittensor creates ~/.bittensor when imported and uid 10001 has no home directory: /tmp,
# as in the pod the operator builds (HOME=/tmp on an emptyDir, read-only root).
ENV HOME=/tmp
EXPOSE 8094 8198
ENTRYPOINT ["python", "-m", "miner_runtime"]
CMD ["serve"]

FROM runtime-base AS operator
COPY --from=operator-build /opt/venv /opt/venv
ENTRYPOINT ["python", "-m", "sparket_operator"]
