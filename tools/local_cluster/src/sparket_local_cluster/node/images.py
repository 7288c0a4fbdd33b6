"""Images on a node with no registry: the sandbox image is written here as an OCI archive
(one static `pause` binary, no base image needed), and every image is imported into
containerd's `k8s.io` namespace, where the kubelet finds it (`imagePullPolicy: Never`)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from sparket_local_services.errors import LocalSetupError
from sparket_local_services.paths import repo_root

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _layer(pause_binary: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("pause")
        data = pause_binary.read_bytes()
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _descriptor(media_type: str, blob: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": f"sha256:{hashlib.sha256(blob).hexdigest()}",
        "size": len(blob),
        **extra,
    }


def pause_image_archive(pause_binary: Path, name: str, target: Path) -> Path:
    """An OCI image layout tarball: the upstream pause image's shape (`/pause`, run as
    65535), named `name` through the annotation containerd's import reads first."""
    layer = _layer(pause_binary)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"User": "65535:65535", "Entrypoint": ["/pause"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"],
            },
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER, layer)],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                _descriptor(
                    OCI_MANIFEST,
                    manifest,
                    platform={"architecture": "amd64", "os": "linux"},
                    annotations={
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1],
                    },
                )
            ],
        }
    ).encode()
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": index,
        **{f"blobs/sha256/{hashlib.sha256(b).hexdigest()}": b for b in (layer, config, manifest)},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w") as tar:
        for path, blob in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(blob), 0o644
            tar.addfile(info, io.BytesIO(blob))
    return target


def import_images(ctr: Path, socket: Path, archive: Path) -> list[str]:
    """Import an image archive (OCI layout, or podman's docker-archive) into `k8s.io`."""
    run = subprocess.run(
        [str(ctr), "--address", str(socket), "-n", "k8s.io", "images", "import", str(archive)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if run.returncode != 0:
        raise LocalSetupError(f"ctr images import {archive.name} failed: {run.stderr.strip()}")
    return image_names(ctr, socket)


def image_names(ctr: Path, socket: Path) -> list[str]:
    listed = subprocess.run(
        [str(ctr), "--address", str(socket), "-n", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if line and not line.startswith("sha256:")]


def build_local_images(targets: tuple[str, ...], tag: str, out_dir: Path) -> tuple[Path, ...]:
    """Build `targets` with the project's own script (tools/images/build-local.sh), tagged
    `localhost/sparket-<target>:<tag>`, and save each as an archive for a node to import
    (there is no registry to pull from)."""
    script = repo_root() / "tools" / "images" / "build-local.sh"
    built = subprocess.run(
        ["bash", str(script), *targets],
        env={**os.environ, "SPARKET_IMAGE_TAG": tag},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if built.returncode != 0:
        last = (built.stderr.strip() or built.stdout.strip()).splitlines()[-5:]
        raise LocalSetupError(f"building images {' '.join(targets)}: " + " | ".join(last))
    out_dir.mkdir(parents=True, exist_ok=True)
    archives = []
    for target in targets:
        archive = out_dir / f"{target}.tar"
        archive.unlink(missing_ok=True)
        saved = subprocess.run(
            ["podman", "save", "-o", str(archive), f"localhost/sparket-{target}:{tag}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if saved.returncode != 0:
            raise LocalSetupError(f"podman save of {target}: {saved.stderr.strip()}")
        archives.append(archive)
    return tuple(archives)
