"""The container recipe, checked statically on every run: non-root user, read-only-root
friendly (every write under the var volume or a tmpfs), production defaults, the HAProxy config
valid. The image is really built and run by scripts/container-smoke.sh (podman, about two
minutes, by hand: too slow and too dependent on installed tools for CI; docs/deployment.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Containerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_image_runs_as_a_fixed_non_root_user_with_var_as_a_volume() -> None:
    steps = _instructions()
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM"):]
    users = [rest for w, rest in final if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(w == "VOLUME" and "/var/lib/ncp" in rest for w, rest in final)
    env = " ".join(rest for w, rest in final if w == "ENV")
    for setting in ("NCP_ENVIRONMENT=production", "NCP_VAR_DIR=/var/lib/ncp",
                    "NCP_METRICS_DIR=/run/ncp/metrics", "NCP_LOG_FORMAT=json"):
        assert setting in env, setting
    # nothing secret is baked in: keys and certificates come from a read-only mount
    copied = " ".join(rest for w, rest in steps if w in ("COPY", "ADD"))
    assert "var" not in copied.split() and ".key" not in copied and "pki" not in copied


def test_every_path_the_app_writes_is_under_var_or_the_metrics_tmpfs() -> None:
    from ncp.settings import Settings

    s = Settings(var_dir=Path("/var/lib/ncp"), metrics_dir=Path("/run/ncp/metrics"),
                 environment="development")
    for path in (Path(s.sqlalchemy_url.removeprefix("sqlite:///")), s.master_keys_path,
                 s.pki_root, s.metrics_path, s.var_dir / "run", s.var_dir / "cache"):
        assert path.is_relative_to("/var/lib/ncp") or path.is_relative_to("/run/ncp"), path


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
def test_the_documented_haproxy_configuration_is_valid(tmp_path: Path) -> None:
    cfg = (ROOT / "deploy" / "haproxy.cfg").read_text()
    ca = tmp_path / "ca.pem"
    from ncp.security.pki import init_pki
    from tests.clock import NOW

    init_pki(tmp_path / "pki", ("LU",), now=NOW)
    shutil.copyfile(tmp_path / "pki" / "lu" / "ca.pem", ca)
    (tmp_path / "haproxy.cfg").write_text(cfg.replace("/etc/ncp/pki/ca.pem", str(ca)))
    r = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mode tcp" in cfg and "mode http" not in cfg  # TLS passed through
