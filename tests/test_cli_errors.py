"""The CLI turns the project's errors into one line on stderr and exit code 1."""

from __future__ import annotations

from typer.testing import CliRunner

from papersift.cli import app


def test_a_store_error_is_one_line_not_a_traceback(tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PAPERSIFT_DB": f"postgresql://nobody@127.0.0.1:{port}/none",
           "PAPERSIFT_DATA_DIR": str(tmp_path)}
    res = CliRunner().invoke(app, ["stats"], env=env)
    assert res.exit_code == 1
    out = res.output.strip()
    assert out.startswith("error:") and "setting 'db'" in out and "cannot connect to PostgreSQL" in out
    assert "Traceback" not in out and len(out.splitlines()) <= 2  # one line, maybe wrapped


def test_a_bad_date_names_the_option():
    res = CliRunner().invoke(app, ["enrich", "--date", "2025-02-30"])
    assert res.exit_code == 1 and "--date '2025-02-30': not a date" in res.output
