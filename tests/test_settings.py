from pathlib import Path

import pytest

from ncp.settings import Settings


def test_defaults_are_luxembourg_and_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("NCP_COUNTRY_CODE", "NCP_DATABASE_URL", "NCP_VAR_DIR"):
        monkeypatch.delenv(key, raising=False)
    s = Settings()
    assert s.country_code == "LU" and s.patient_id_root == "1.3.182.4.4"
    assert s.sqlalchemy_url == "sqlite:///var/ncp.sqlite"
    assert s.tls_cert_path == Path("var/pki/lu/tls-server.pem")
    assert not s.allow_plain_http


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NCP_COUNTRY_CODE", "BE")
    monkeypatch.setenv("NCP_PORT", "9443")
    s = Settings()
    assert (s.country_code, s.port) == ("BE", 9443)
    assert s.signing_key_path == Path("var/pki/be/signing.key")


def test_production_refuses_development_defaults() -> None:
    with pytest.raises(RuntimeError, match="NCP_DATABASE_URL"):
        Settings(environment="production").check_production()
    Settings(environment="development").check_production()
    ok = Settings(environment="production", database_url="postgresql://x/y",
                  tls_cert=Path("a"), tls_key=Path("b"), signing_cert=Path("c"),
                  signing_key=Path("d"), trust_list=Path("e"), master_keys=Path("f"))
    ok.check_production()
    with pytest.raises(RuntimeError, match="PLAIN_HTTP"):
        ok.model_copy(update={"allow_plain_http": True}).check_production()
