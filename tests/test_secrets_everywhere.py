"""Secrets never reach logs, metadata, error messages or compute logs: one project on three
stores holding secrets (S3 through the AWS chain, an http portal's bearer token, a database
password in an environment variable), materialized with the Dagster CLI, once succeeding and
once failing on each store; then every file under DAGSTER_HOME (event log, run storage,
compute logs) and the captured output is searched for each secret."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from http_server import serving
from runs import materialize_with_dagster_cli

TOKEN = "portal-token-Zq8v1Xw"
PASSWORD = "db-password-Kp3nT6r"


def test_no_secret_anywhere_after_runs_that_pass_and_fail(
    make_project, tmp_path, s3, postgres_url, monkeypatch
) -> None:
    served_root = tmp_path / "served"
    served_root.mkdir()
    pd.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0]}).to_csv(
        served_root / "remote.csv", index=False
    )
    database = sa.make_url(postgres_url).set(password=PASSWORD)
    secret_key = os.environ["AWS_SECRET_ACCESS_KEY"]
    with serving(served_root) as served:
        served.bearer(TOKEN)
        project = make_project(
            """
remote: {format: csv, store: portal, path: remote.csv, checks: [{row_count: {min: 1}}]}
missing_remote: {format: csv, store: portal, path: nowhere.csv}
copied: {format: parquet, store: lake}
table: {format: sql, store: warehouse, path: secrets_everywhere}
from_missing: {format: parquet, store: lake}
""",
            stores=s3.store_toml()
            + '[tool.datanectar.stores.local]\ntype = "local"\nroot = "data"\n'
            + f'[tool.datanectar.stores.portal]\ntype = "http"\nbase_url = "{served.base_url}"\n'
            'auth = { type = "bearer", token_env = "PORTAL_TOKEN" }\n'
            '[tool.datanectar.stores.warehouse]\ntype = "sql"\nurl_env = "WAREHOUSE_URL"\n',
            modules={
                "secret_functions": """
                    import pandas as pd
                    import datanectar

                    @datanectar.asset(entry="copied")
                    def copied(remote: pd.DataFrame) -> pd.DataFrame:
                        return remote

                    @datanectar.asset(entry="table")
                    def table(copied: pd.DataFrame) -> pd.DataFrame:
                        return copied

                    @datanectar.asset(entry="from_missing")
                    def from_missing(missing_remote: pd.DataFrame) -> pd.DataFrame:
                        return missing_remote
                """
            },
        )
        (project / "definitions.py").write_text(
            "import datanectar\n\ndefs = datanectar.definitions(__file__)\n"
        )
        home = tmp_path / "dagster_home"
        home.mkdir()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "PORTAL_TOKEN": TOKEN,
            "WAREHOUSE_URL": database.render_as_string(hide_password=False),
        }
        passing = materialize_with_dagster_cli(project, "copied,table", env=env)
        assert passing.returncode == 0, passing.stdout + passing.stderr
        failing = materialize_with_dagster_cli(project, "from_missing", env=env)
        assert failing.returncode != 0
        wrong = materialize_with_dagster_cli(
            project, "copied", env={**env, "PORTAL_TOKEN": TOKEN + "-wrong"}
        )
        assert wrong.returncode != 0
        assert "401" in wrong.stdout + wrong.stderr
        # a database that refuses the connection: its error quotes no password either
        refused = database.set(port=1).render_as_string(hide_password=False)
        unreachable = materialize_with_dagster_cli(
            project, "table", env={**env, "WAREHOUSE_URL": refused}
        )
        assert unreachable.returncode != 0

    with sa.create_engine(postgres_url).begin() as connection:
        assert connection.execute(sa.text("select count(*) from secrets_everywhere")).scalar() == 3
        connection.execute(sa.text("drop table if exists secrets_everywhere"))

    secrets = [TOKEN, PASSWORD, secret_key]
    output = "".join(run.stdout + run.stderr for run in (passing, failing, wrong, unreachable))
    assert not [secret for secret in secrets if secret in output]
    files = [path for path in home.rglob("*") if path.is_file()]
    assert any("compute_logs" in str(path) for path in files)  # the compute logs were searched
    leaks = [
        (path, secret)
        for path in files
        for secret in secrets
        if secret.encode() in Path(path).read_bytes()
    ]
    assert leaks == []
