"""Fetch the cluster's engines into the cache: Apache Flink from PyPI, Beam's Flink job server
from Maven Central.

Flink's distribution (`flink-dist`) is not served by Maven Central. PyPI serves it as two source
archives of PyFlink: `apache-flink-libraries` (the jars: `deps/lib`, `deps/bin/bash-java-utils.jar`)
and `apache-flink` (the scripts and configuration: `deps/bin`, `deps/conf`). Unpacked together
they are a Flink home; neither is installed as a Python package (`apache-flink` pins an
apache-beam older than this project's). Both archives are checked against pinned SHA-256s.

No shaded Beam job-server jar is served either: Maven resolves the Flink runner's runtime
closure into a folder, and a launcher jar whose manifest lists those jars makes them one
`java -jar` (or `--flink_job_server_jar`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from skillstream.broker import BrokerError, check_prerequisites, maven_copy_dependencies
from skillstream.settings import Settings

FLINK_VERSION = "1.19.0"
# The Beam release of the Flink 1.19 runner whose job server still ships (its
# beam-runners-java-job-service dependency is gone from later releases).
BEAM_JOB_SERVER_VERSION = "2.62.0"
JOB_SERVER_MAIN = "org.apache.beam.runners.flink.FlinkJobServerDriver"
POM = Path(__file__).with_name("pom.xml")

FLINK_ARCHIVES = {
    "apache-flink-libraries": "bb3115c1c63702f95c3f89d5d952e9d98e26fd35b980a265d139790a6ea2c2a2",
    "apache-flink": "790c4c20e2126955149535b4136015ff84cb0986df5c98d97926f77850890d3c",
}


def flink_home(settings: Settings) -> Path:
    return settings.cache / f"flink-{FLINK_VERSION}"


def job_server_dir(settings: Settings) -> Path:
    return settings.cache / f"beam-flink-job-server-{BEAM_JOB_SERVER_VERSION}"


def job_server_jar(settings: Settings) -> Path:
    return job_server_dir(settings) / "job-server.jar"


def fetched(settings: Settings) -> bool:
    return (flink_home(settings) / ".complete").exists() and (
        job_server_dir(settings) / ".complete"
    ).exists()


def fetch(settings: Settings) -> None:
    """Fetch whatever of Flink and the job server is not in the cache yet."""
    if fetched(settings):
        check_prerequisites(need_maven=False)
        return
    check_prerequisites(need_maven=True)
    if not (flink_home(settings) / ".complete").exists():
        _fetch_flink(flink_home(settings))
    if not (job_server_dir(settings) / ".complete").exists():
        _fetch_job_server(job_server_dir(settings))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_flink(home: Path) -> None:
    downloads = home.with_name(home.name + ".download")
    shutil.rmtree(downloads, ignore_errors=True)
    downloads.mkdir(parents=True)
    # --no-binary for the two archives only: their build requirements (needed to read their
    # metadata) come as wheels.
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ",".join(FLINK_ARCHIVES),
        "-d",
        str(downloads),
        *(f"{name}=={FLINK_VERSION}" for name in FLINK_ARCHIVES),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(
            "pip could not fetch Apache Flink:\n" + (result.stdout + result.stderr)[-4000:]
        )
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for name, expected in FLINK_ARCHIVES.items():
        archive = downloads / f"{name}-{FLINK_VERSION}.tar.gz"
        if _sha256(archive) != expected:
            raise BrokerError(f"{archive.name} does not have the pinned SHA-256 {expected}")
        _unpack_deps(archive, f"{name}-{FLINK_VERSION}/deps/", staging)
    (staging / "plugins").mkdir(exist_ok=True)
    for script in (staging / "bin").iterdir():
        script.chmod(0o755)
    shutil.rmtree(downloads)
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    (home / ".complete").touch()


# The parts of the archives' `deps/` a standalone cluster runs from.
FLINK_PARTS = ("lib/", "bin/", "conf/")


def _unpack_deps(archive: Path, prefix: str, into: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.name.startswith(prefix) or not member.isfile():
                continue
            relative = member.name[len(prefix) :]
            if not relative.startswith(FLINK_PARTS):
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None  # a regular file
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)


def _fetch_job_server(directory: Path) -> None:
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "libs").mkdir(parents=True)
    maven_copy_dependencies(
        POM, {"beam.version": BEAM_JOB_SERVER_VERSION}, staging / "libs", "Beam's Flink job server"
    )
    jars = sorted(path.name for path in (staging / "libs").glob("*.jar"))
    write_launcher(staging / "job-server.jar", JOB_SERVER_MAIN, [f"libs/{jar}" for jar in jars])
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    (directory / ".complete").touch()


def write_launcher(path: Path, main_class: str, class_path: list[str]) -> None:
    """A jar of only a manifest: its Main-Class and Class-Path (relative to the jar)."""
    lines = [
        "Manifest-Version: 1.0",
        f"Main-Class: {main_class}",
        "Class-Path: " + " ".join(class_path),
    ]
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "".join(_manifest_line(line) for line in lines))


def _manifest_line(line: str) -> str:
    """A manifest header wrapped as the JAR specification wants: lines of at most 72 bytes,
    each continuation starting with one space."""
    data = line.encode()
    parts = [data[:72]] + [data[i : i + 71] for i in range(72, len(data), 71)]
    return "\r\n ".join(part.decode() for part in parts) + "\r\n"
