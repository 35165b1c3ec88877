"""``ncp soap inspect`` runs the gateway's reading steps on a captured message."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ncp.ihe import registry
from ncp.ihe.xca import retrieve
from ncp.soap import build_envelope, new_message_id, serialize
from ncp.soap.cli import soap_app

runner = CliRunner()


def test_inspect_an_mtom_response(tmp_path: Path) -> None:
    attachments: dict[str, bytes] = {}
    body = retrieve.build_response(retrieve.RetrieveResponse.of(documents=(
        retrieve.DocumentResponse(repository_unique_id="1.2", document_unique_id="1.2.3",
                                  mime_type="application/pdf", document=b"%PDF" * 100),)),
        attachments)
    env = build_envelope(body, action=registry.ITI_39.response_action,
                         relates_to=new_message_id())
    data, ct = serialize(env, attachments=attachments, mtom=True)
    path = tmp_path / "response.bin"
    path.write_bytes(data)
    result = runner.invoke(soap_app, ["inspect", str(path), "-t", ct])
    assert result.exit_code == 0, result.output
    assert "ITI-39 Cross Gateway Retrieve (response)" in result.output
    assert "schema:      valid" in result.output
    assert '"document": "<400 bytes>"' in result.output


def test_inspect_reports_the_refusal(tmp_path: Path, specs_dir: Path) -> None:
    raw = (specs_dir / "samples" / "xca" / "DK-template_xca_query_soap_request-ps.xml"
           ).read_bytes().replace(b"{{message-id}}", b"not-a-uuid")
    path = tmp_path / "request.xml"
    path.write_bytes(raw)
    result = runner.invoke(soap_app, ["inspect", str(path)])
    assert result.exit_code == 1
    assert "AddressingFault" in result.output
