# The Kubeline image, for users who build with Docker. `kubeline dev image` builds
# the equivalent image without Docker (debootstrap + umoci): the same Debian
# bookworm base, Python 3.11, a venv with the dependencies at /opt/kubeline/venv,
# the project's wheel at /opt/kubeline/app, the same environment and command.
FROM debian:bookworm-slim AS base
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*

FROM base AS build
COPY pyproject.toml README.md constraints.txt /src/
COPY sdk /src/sdk
COPY operator /src/operator
# constraints.txt pins every package (`make lock`): the same versions on every build.
ENV PIP_CONSTRAINT=/src/constraints.txt
RUN python3 -m venv /opt/kubeline/venv \
 && /opt/kubeline/venv/bin/pip install --no-cache-dir -U pip setuptools wheel \
 && /opt/kubeline/venv/bin/pip install --no-cache-dir "/src[ml,operator]" \
 && /opt/kubeline/venv/bin/pip uninstall -y kubeline \
 && /opt/kubeline/venv/bin/pip wheel --no-deps -w /tmp/wheel /src \
 && /opt/kubeline/venv/bin/pip install --no-deps --no-compile --target /opt/kubeline/app /tmp/wheel/kubeline-*.whl \
 && rm -rf /opt/kubeline/app/bin \
 && /opt/kubeline/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/kubeline

FROM base
COPY --from=build /opt/kubeline /opt/kubeline
# The image's user (uid/gid 10001, as in `kubeline dev image`): step Pods and the operator
# run as it, non-root, with a read-only root filesystem and /tmp as HOME.
RUN groupadd --gid 10001 kubeline \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin --comment Kubeline kubeline
ENV PATH=/opt/kubeline/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/kubeline/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    USER=kubeline \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /tmp
USER 10001:10001
LABEL org.opencontainers.image.version=0.1.0
CMD ["python", "-m", "kubeline_operator"]
