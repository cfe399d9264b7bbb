//! `domain-host store copy --to URL`: an SQLite state directory's database into an empty
//! MySQL one, for a network moving up to several instances. Ids are kept (WordPress holds
//! event ids, the callback delivery ids), so are idempotency keys; events that were running
//! are queued; all of it in one transaction (a failed copy leaves the database empty).

use super::Mysql;
use crate::lifecycle::database::Database;
use anyhow::{Result, bail};
use mysql_async::prelude::Queryable;
use mysql_async::{Params, TxOpts, Value};

/// Tables in the order their rows can go in (names refer to domains), with the columns
/// both schemas have.
const TABLES: [(&str, &str); 5] = [
    (
        "domains",
        "domain, site, kind, stage, phase, phase_started_ms, attempts, checks, backoff, next_check_ms, last_check_ms, done_ms, diagnosis, created_ms, updated_ms",
    ),
    (
        "names",
        "domain, name, dns, certificate, requirements, panel, requested_ms",
    ),
    ("checks", "id, domain, at_ms, stage, summary"),
    (
        "events",
        "id, kind, domain, site, idempotency_key, CASE WHEN state = 'running' THEN 'queued' ELSE state END, attempts, next_attempt_ms, accepted_ms, started_ms, finished_ms, report, error, www_mapped",
    ),
    (
        "outbox",
        "id, domain, body, created_ms, attempts, next_attempt_ms, delivered_ms, last_error, dead_ms",
    ),
];

/// The column names a select list writes to (`CASE ... END` is `state`).
fn target_columns(table: &str, select: &str) -> String {
    if table == "events" {
        select.replace(
            "CASE WHEN state = 'running' THEN 'queued' ELSE state END",
            "state",
        )
    } else {
        select.to_string()
    }
}

/// The command: exit 0 when copied, 1 when the copy failed (nothing copied), 2 for a bad
/// command line or config.
pub fn run(options: &crate::commands::Options, to: &str, password_env: Option<&str>) -> i32 {
    let secrets = crate::sandbox::redaction::Secrets::default();
    let password = match password_env {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                eprintln!(
                    "domain-host: --password-env: the environment variable {name} is not set"
                );
                return crate::commands::EXIT_USAGE;
            }
        },
    };
    secrets.add(to);
    if let Some(p) = &password {
        secrets.add(p);
    }
    if let Some((_, pass)) = to
        .strip_prefix("mysql://")
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.rsplit_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        && !pass.is_empty()
    {
        secrets.add(pass);
    }
    let result = (|| -> Result<(Vec<(&'static str, usize)>, std::path::PathBuf)> {
        let config = crate::config::LoadedConfig::load(&options.config)?;
        let path = config.state_dir()?.join("domain-host.db");
        if !path.exists() {
            bail!("there is no SQLite database at {}", path.display());
        }
        let from = Database::open(&path)?;
        let to = Mysql::connect_url(
            to,
            password,
            &format!("copy:{}", config.config.instance()),
            std::time::Duration::from_secs(30),
            std::time::Duration::from_secs(600),
        )?;
        Ok((copy(&from, &to)?, path))
    })();
    match result {
        Ok((counts, path)) => {
            let list: Vec<String> = counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
            println!(
                "copied {} into the database: {}",
                path.display(),
                list.join(", ")
            );
            0
        }
        Err(e) => {
            eprintln!(
                "domain-host: store copy: {}",
                secrets.redact(&format!("{e:#}"))
            );
            crate::commands::EXIT_FAILED
        }
    }
}

/// Rows copied, by table.
pub fn copy(from: &Database, to: &Mysql) -> Result<Vec<(&'static str, usize)>> {
    let mut rows: Vec<(&'static str, Vec<Vec<Value>>)> = Vec::new();
    for (table, columns) in TABLES {
        let data = from.with_connection(|c| {
            let mut stmt = c.prepare(&format!("SELECT {columns} FROM {table}"))?;
            let width = stmt.column_count();
            let out = stmt
                .query_map([], |r| {
                    (0..width)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i).map(value))
                        .collect::<rusqlite::Result<Vec<Value>>>()
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(out)
        })?;
        rows.push((table, data));
    }
    to.run(|| async {
        let mut conn = to.pool.get_conn().await?;
        for (table, _) in TABLES {
            let n: Option<i64> = conn
                .query_first(format!("SELECT COUNT(*) FROM {table}"))
                .await?;
            if n.unwrap_or(0) > 0 {
                bail!("the database is not empty ({table} has {} row(s)): copy only into an empty one", n.unwrap_or(0));
            }
        }
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        for ((table, columns), (_, data)) in TABLES.iter().zip(&rows) {
            let columns = target_columns(table, columns);
            let marks = vec!["?"; columns.split(',').count()].join(", ");
            let sql = format!("INSERT INTO {table} ({columns}) VALUES ({marks})");
            for row in data {
                tx.exec_drop(sql.as_str(), Params::Positional(row.clone()))
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    })?;
    Ok(rows.into_iter().map(|(t, d)| (t, d.len())).collect())
}

fn value(v: rusqlite::types::Value) -> Value {
    match v {
        rusqlite::types::Value::Null => Value::NULL,
        rusqlite::types::Value::Integer(i) => Value::Int(i),
        rusqlite::types::Value::Real(f) => Value::Double(f),
        rusqlite::types::Value::Text(t) => Value::Bytes(t.into_bytes()),
        rusqlite::types::Value::Blob(b) => Value::Bytes(b),
    }
}
