//! A small SQL builder for erasure's statements, which the registry drives and so cannot be
//! written as entities: table and column names come from the registry and the live schema
//! (never from input) and are quoted; every value is bound (`$n` on PostgreSQL, `?` on SQLite,
//! in the order they are pushed).

use sea_orm::{DatabaseBackend, Statement, Value};

pub(super) struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(super) fn new(backend: DatabaseBackend) -> Self {
        Sql { backend, text: String::new(), values: Vec::new() }
    }

    /// Appends SQL text.
    pub(super) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a quoted identifier (`"name"`).
    pub(super) fn ident(&mut self, name: &str) -> &mut Self {
        self.text.push_str(&quote(name));
        self
    }

    /// Appends `"table"."column"`.
    pub(super) fn col(&mut self, table: &str, column: &str) -> &mut Self {
        self.text.push_str(&format!("{}.{}", quote(table), quote(column)));
        self
    }

    /// Appends a placeholder bound to `v`.
    pub(super) fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        match self.backend {
            DatabaseBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    pub(super) fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// `"name"`, with any double quote doubled.
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
