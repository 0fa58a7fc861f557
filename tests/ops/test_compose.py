"""The deployment files: docker-compose.yml (+ the GPU override), the web entrypoint, the Dockerfile, .env.example.

The compose file is validated by Debian's `docker-compose` (1.29, `apt-get install -y docker-compose`) with a
throw-away .env, and the assertions run on what it renders. No Docker engine is needed: `config` only parses.
Without the binary these tests skip locally and fail when CI is set (the CI script installs it).
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"
DEBIAN = ROOT / "docker-compose.debian.yml"
ENTRYPOINT = ROOT / "docker" / "entrypoint-web.sh"

# Distinctive values: they must come out of `config` (so they were read from the environment) and must not be in
# the compose files themselves.
TEST_ENV = {
    "SECRET_KEY": "test-secret-key-" + "k" * 50,
    "ALLOWED_HOSTS": "shop.test",
    "POSTGRES_PASSWORD": "pg-pass-7f3a9c",
    "MINIO_ROOT_USER": "minio-root-4b1e",
    "MINIO_ROOT_PASSWORD": "minio-pass-9d2c",
    "AWS_ACCESS_KEY_ID": "shop-key-id-5e8f",
    "AWS_SECRET_ACCESS_KEY": "shop-secret-6a0b",
}
SERVICES = {"postgres", "redis", "minio", "createbucket", "web", "worker", "beat"}


def _compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed (CI must run: apt-get install -y docker-compose)")
        pytest.skip("docker-compose binary not found (apt-get install -y docker-compose); CI is not set")
    return binary


def _config(tmp_path: Path, *files: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`docker-compose config` on copies of the files, in a folder holding a test .env."""
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "docker" / "debian").mkdir(parents=True, exist_ok=True)  # build contexts must exist
    values = TEST_ENV if env is None else env
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    args = [_compose_binary()]
    for f in files:
        args += ["-f", f.name]
    # A clean environment, so nothing from the developer's shell fills a required variable.
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL"}}
    return subprocess.run(args + ["config"], cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    out = _config(tmp_path_factory.mktemp("compose"), COMPOSE)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


@pytest.fixture(scope="module")
def with_gpu(tmp_path_factory):
    out = _config(tmp_path_factory.mktemp("compose-gpu"), COMPOSE, GPU)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


@pytest.fixture(scope="module")
def with_debian(tmp_path_factory):
    out = _config(tmp_path_factory.mktemp("compose-debian"), COMPOSE, DEBIAN)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def _depends(service: dict) -> dict[str, str]:
    dep = service.get("depends_on", {})
    if isinstance(dep, list):  # short form: no condition
        return {name: "service_started" for name in dep}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in dep.items()}


def test_services_exist(base):
    assert SERVICES <= set(base["services"])


def test_postgres_is_16_with_named_volume(base):
    pg = base["services"]["postgres"]
    assert re.match(r"postgres:16(\b|$)", pg["image"])
    volumes = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in pg["volumes"]]
    assert any(v.split(":")[0] in base.get("volumes", {}) and "/var/lib/postgresql/data" in v for v in volumes)


@pytest.mark.parametrize("name", ["postgres", "redis", "web"])
def test_healthchecks(base, name):
    hc = base["services"][name].get("healthcheck")
    assert hc and hc.get("test") and not hc.get("disable"), f"{name} has no healthcheck"


def test_healthcheck_commands(base):
    s = base["services"]
    assert "pg_isready" in " ".join(s["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in s["redis"]["healthcheck"]["test"] and "ping" in s["redis"]["healthcheck"]["test"]
    web_test = " ".join(s["web"]["healthcheck"]["test"])
    script = ROOT / "docker" / "healthcheck.py"
    assert "readyz" in web_test or (script.name in web_test and "/readyz" in script.read_text())


@pytest.mark.parametrize("name", ["web", "worker"])
def test_app_waits_for_healthy_postgres_and_redis(base, name):
    dep = _depends(base["services"][name])
    assert dep.get("postgres") == "service_healthy"
    assert dep.get("redis") == "service_healthy"


def test_web_waits_for_the_bucket(base):
    assert _depends(base["services"]["web"]).get("createbucket") == "service_completed_successfully"
    assert base["services"]["createbucket"].get("restart", "no") == "no"
    assert _depends(base["services"]["createbucket"]).get("minio") == "service_healthy"
    assert "mc mb" in " ".join(base["services"]["createbucket"]["command"])


def test_app_services_run_in_production_with_env_file(base):
    raw = yaml.safe_load(COMPOSE.read_text())  # `config` inlines env_file, so read it from the file itself
    for name in ("web", "worker", "beat"):
        assert base["services"][name]["environment"]["SHOP_ENV"] == "production", name
        assert raw["services"][name].get("env_file") in (".env", [".env"]), f"{name} does not read .env"


def test_worker_and_beat_commands(base):
    s = base["services"]
    assert s["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert s["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_web_runs_migrations_before_gunicorn(base):
    web = base["services"]["web"]
    command = web.get("command") or []
    entry = web.get("entrypoint") or []
    words = " ".join((command if isinstance(command, list) else [command]) +
                     (entry if isinstance(entry, list) else [entry]))
    if "entrypoint-web.sh" in words:
        script = ENTRYPOINT.read_text()
    else:
        script = words
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    text = "\n".join(lines)
    migrate = text.find("manage.py migrate --noinput")
    static = text.find("manage.py collectstatic --noinput")
    gunicorn = text.find("gunicorn config.wsgi")
    assert -1 < migrate < gunicorn, "migrate must run before gunicorn"
    assert -1 < static < gunicorn, "collectstatic must run before gunicorn"
    assert re.search(r"exec\s+gunicorn", text), "gunicorn must be exec'd (signals reach it)"
    assert "GUNICORN_WORKERS" in text
    assert re.search(r"set -[a-z]*e", text), "the entrypoint must stop on a failed migration"
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "entrypoint is not executable"


def test_required_secrets_come_from_the_environment(base):
    rendered = yaml.safe_dump(base)
    for key in ("SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY"):
        assert TEST_ENV[key] in rendered, f"{key} from .env does not reach the services"
    assert base["services"]["web"]["environment"]["SECRET_KEY"] == TEST_ENV["SECRET_KEY"]


def test_missing_secret_stops_compose(tmp_path):
    env = {k: v for k, v in TEST_ENV.items() if k != "POSTGRES_PASSWORD"}
    out = _config(tmp_path, COMPOSE, env=env)
    assert out.returncode != 0
    assert "POSTGRES_PASSWORD" in out.stderr


SECRET_NAME = re.compile(r"(PASSWORD|SECRET|ACCESS_KEY|_KEY_ID|SECRET_KEY|TOKEN|ROOT_USER)", re.I)
ALLOWED_VALUE = re.compile(r"^\s*[\"']?(\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}|\$\$[A-Z0-9_]+|\"\$\$[A-Z0-9_]+\")[\"']?\s*$")


@pytest.mark.parametrize("path", [COMPOSE, GPU, DEBIAN], ids=lambda p: p.name)
def test_no_literal_secrets(path):
    text = path.read_text()
    for value in TEST_ENV.values():
        assert value not in text
    assert not re.search(r"AKIA[0-9A-Z]{16}", text), "an AWS access key id is written in the file"
    assert not re.search(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", text), "looks like an AWS secret"
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split(" #")[0]
        m = re.match(r"^\s*-?\s*([A-Za-z0-9_]+)\s*[:=]\s*(.+)$", code)
        if m and SECRET_NAME.search(m.group(1)):
            assert ALLOWED_VALUE.match(m.group(2)), f"{path.name}:{number}: literal value for {m.group(1)}"
        # URLs with a password: user:password@host must be interpolated.
        for cred in re.findall(r"://([^/@\s]+)@", code):
            assert "${" in cred, f"{path.name}:{number}: literal credentials in a URL"


def test_gpu_only_for_the_worker(base, with_gpu):
    def devices(service):
        return (((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")

    for name, service in base["services"].items():
        assert not devices(service), f"the base file reserves a device for {name}"
    worker = devices(with_gpu["services"]["worker"])
    assert worker and any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in worker)
    for name, service in with_gpu["services"].items():
        if name != "worker":
            assert not devices(service), f"the GPU override reserves a device for {name}"


def test_gpu_reservation_is_well_formed(with_gpu):
    """What Docker's device requests need: driver nvidia, a count or device ids, the gpu capability."""
    worker = with_gpu["services"]["worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"] and device["driver"] == "nvidia"
    assert device.get("count") == "all" or isinstance(device.get("count"), int) or device.get("device_ids")
    assert _stages()["worker"]["requirements"] == ["requirements.txt"], "the GPU worker image must carry torch"


def _stages() -> dict[str, dict]:
    """The Dockerfile's stages: name -> {"from": base, "requirements": files pip installs, "user": last USER}."""
    stages: dict[str, dict] = {}
    current = None
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        m = re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            current = stages.setdefault(m.group(2) or f"stage{len(stages)}",
                                        {"from": m.group(1), "requirements": [], "user": None})
            continue
        if current is None:
            continue
        current["requirements"] += re.findall(r"pip install .*?-r\s+(\S+)", line)
        if m := re.match(r"^USER\s+(\S+)", line):
            current["user"] = m.group(1)
    return stages


def test_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", text, re.M), "the public python image stays the default"
    stages = _stages()
    assert stages["base"]["from"] == "${BASE_IMAGE}"
    assert stages["base"]["requirements"] == ["requirements-web.txt"]
    assert stages["web"]["from"] == "base" and stages["web"]["requirements"] == []
    assert stages["worker"]["from"] == "base" and stages["worker"]["requirements"] == ["requirements.txt"]
    assert list(stages)[-1] == "worker", "the default target (docker build .) must stay the complete image"
    for name in ("web", "worker"):
        assert stages[name]["user"] not in {None, "root", "0"}, f"the {name} image must run as a non-root user"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and ".venv/" in ignored


def test_torch_only_in_the_worker_image(base):
    s = base["services"]
    for name in ("web", "beat"):
        assert s[name]["build"]["target"] == "web", name
    assert s["worker"]["build"]["target"] == "worker"
    assert s["web"]["image"] == s["beat"]["image"] != s["worker"]["image"]
    assert s["worker"].get("shm_size"), "PyTorch data loaders need more than Docker's 64 MB /dev/shm"


def test_debian_override_swaps_every_public_image(with_debian):
    s = with_debian["services"]
    for name, dockerfile in (("postgres", "postgres"), ("redis", "redis"), ("minio", "moto")):
        assert s[name]["image"].startswith("shop-debian/"), name
        assert s[name]["build"]["dockerfile"] == f"{dockerfile}.Dockerfile"
        assert (ROOT / "docker" / "debian" / f"{dockerfile}.Dockerfile").exists()
    assert s["createbucket"]["image"] == s["minio"]["image"], "the bucket is made with the moto image's boto3"
    for name in ("web", "worker", "beat"):
        assert s[name]["build"]["args"]["BASE_IMAGE"] == "shop-debian/python:3.11", name
        assert s[name]["build"]["target"] in {"web", "worker"}, "the override must keep the base file's target"
    # The health checks and what the app reaches stay those of the base file.
    assert "pg_isready" in " ".join(s["postgres"]["healthcheck"]["test"])
    assert s["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert s["minio"]["healthcheck"]["test"] and "minio.localhost" in s["minio"]["networks"]["default"]["aliases"]
    assert s["minio"]["environment"]["S3_IGNORE_SUBDOMAIN_BUCKETNAME"] == "true"
    assert s["web"]["environment"]["DATABASE_URL"].endswith("@postgres:5432/shop")


def test_debian_images_match_the_pins():
    moto = re.search(r"^ARG MOTO_VERSION=(\S+)$", (ROOT / "docker/debian/moto.Dockerfile").read_text(), re.M)
    assert moto and f"moto[server]=={moto.group(1)}" in (ROOT / "requirements-dev.txt").read_text()
    override = DEBIAN.read_text()
    assert f"shop-debian/moto:{moto.group(1)}" in override
    for script in ("docker/debian/build-base.sh", "docker/debian/postgres-entrypoint.sh",
                   "docker/debian/redis-entrypoint.sh", "scripts/compose_smoke.sh"):
        path = ROOT / script
        assert path.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
        shell = "bash" if "bash" in path.read_text().splitlines()[0] else "sh"
        out = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def _settings_variables() -> set[str]:
    text = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r"\benv(?:_bool|_int|_float|_list|_decimal)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text)) | set(
        re.findall(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"", text))


def test_env_example_lists_every_setting():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    needed = _settings_variables() | {"GUNICORN_WORKERS", "ADMIN_PASSWORD", "POSTGRES_PASSWORD",
                                      "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    assert len(needed) > 40
    assert not needed - listed, f".env.example misses {sorted(needed - listed)}"


def test_compose_required_variables_are_in_env_example():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    code = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", code))
    assert required and not required - listed
