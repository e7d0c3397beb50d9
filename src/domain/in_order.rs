//! Reading a statement's rows by position, for the few hot statements whose columns the code
//! lists itself (a catalogue page and its sessions).
//!
//! sea-orm's `FromQueryResult` finds each column by name: a hash of the name per column and
//! row, and for every NULL it reads, an error message formatted and dropped. On a catalogue
//! page (21 courses, 40 sessions, ~900 values) that was 21 % of the server's instructions
//! (`docs/BENCHMARKS.md`, eighth pass). [`InOrder`] reads the columns one after the other
//! straight from the driver's row.
//!
//! A statement read this way selects its columns in the entity's order ([`columns_in_order`]
//! lists them). [`InOrder::check_names`] checks that order against the statement's column names,
//! once per result (the names are the same on every row): a statement and its reader that fall
//! out of step fail with a clear error, never with a value read from the wrong column.
//!
//! Types are checked as the driver's `try_get` checks them, except that PostgreSQL's are
//! checked once per result too: PostgreSQL types a result's columns once for all its rows (its
//! row description), and `try_get` built and compared a list of compatible types for every
//! value (about 5 % of a page's instructions). The first row's columns are checked against their
//! declared types, NULL or not; later rows are decoded without the check. SQLite types each
//! value, not the column: every value is checked there, as `try_get` does.

use sea_orm::sqlx::{self, Postgres, Row, Sqlite};
use sea_orm::{ActiveEnum, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult};
use uuid::Uuid;

use crate::entities::{course, session};

/// A type both drivers decode from a column (and its `Option` for a nullable one).
pub trait Decoded:
    for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
    + for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
{
}

impl<T> Decoded for T where
    T: for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
        + for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
{
}

/// A row read from its first column onwards.
pub struct InOrder<'r> {
    row: &'r QueryResult,
    at: usize,
    /// This row's result had its PostgreSQL column types checked on its first row.
    types_checked: bool,
}

impl<'r> InOrder<'r> {
    /// A row read on its own, or the first row of a result: every column's type is checked.
    pub fn new(row: &'r QueryResult) -> Self {
        InOrder { row, at: 0, types_checked: false }
    }

    /// A later row of a result whose first row was read through [`InOrder::new`].
    fn after_first(row: &'r QueryResult) -> Self {
        InOrder { row, at: 0, types_checked: true }
    }

    /// The next column's value.
    pub fn read<T: Decoded>(&mut self) -> Result<T, DbErr> {
        let at = self.at;
        self.at += 1;
        let read = if let Some(row) = self.row.try_as_pg_row() {
            if !self.types_checked {
                let Some(column) = row.columns().get(at) else {
                    return Err(DbErr::Type(format!("no column {at}")));
                };
                let declared = sqlx::Column::type_info(column);
                if !<T as sqlx::Type<Postgres>>::compatible(declared) {
                    return Err(DbErr::Type(format!(
                        "column {at} is {declared}, read as {}",
                        std::any::type_name::<T>()
                    )));
                }
            }
            row.try_get_unchecked::<T, _>(at)
        } else if let Some(row) = self.row.try_as_sqlite_row() {
            row.try_get::<T, _>(at)
        } else {
            return Err(DbErr::Type("a row of neither PostgreSQL nor SQLite".into()));
        };
        read.map_err(|e| DbErr::Type(format!("column {at}: {e}")))
    }

    /// The next column, a vocabulary stored as its string.
    pub fn read_enum<E: ActiveEnum<Value = String>>(&mut self) -> Result<E, DbErr> {
        E::try_from_value(&self.read::<String>()?)
    }

    /// Fails unless the next columns are named `names`, in order (the reader does not move).
    pub fn check_names<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Result<(), DbErr> {
        let found: Vec<&str> = if let Some(row) = self.row.try_as_pg_row() {
            row.columns().iter().map(sqlx::Column::name).collect()
        } else if let Some(row) = self.row.try_as_sqlite_row() {
            row.columns().iter().map(sqlx::Column::name).collect()
        } else {
            Vec::new()
        };
        for (i, name) in names.into_iter().enumerate() {
            let at = self.at + i;
            if found.get(at) != Some(&name) {
                return Err(DbErr::Type(format!(
                    "column {at} is {:?}, read as {name:?}",
                    found.get(at)
                )));
            }
        }
        Ok(())
    }
}

/// Every row of a result through `read`, after checking on the first row that its columns are
/// named `names`, in order, and (PostgreSQL) of the types read (the names and a PostgreSQL
/// column's type are the same on every row of a result). `read` reads the same columns as the
/// same types on every row, as a model's reader does: on PostgreSQL, what it reads on later rows
/// only is not checked.
pub fn read_rows<'n, T>(
    rows: &[QueryResult],
    names: impl IntoIterator<Item = &'n str>,
    read: impl Fn(&mut InOrder<'_>) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let Some((first, later)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    let mut reader = InOrder::new(first);
    reader.check_names(names)?;
    let mut read_all = Vec::with_capacity(rows.len());
    read_all.push(read(&mut reader)?);
    for row in later {
        read_all.push(read(&mut InOrder::after_first(row))?);
    }
    Ok(read_all)
}

/// The names of `E`'s columns in the order its [`ReadInOrder`] reads them.
pub fn columns_in_order<E: EntityTrait>() -> impl Iterator<Item = &'static str> {
    E::Column::iter().map(|c| c.as_str())
}

/// A model read from consecutive columns in its entity's order ([`columns_in_order`]).
pub trait ReadInOrder: Sized {
    fn read_in_order(row: &mut InOrder<'_>) -> Result<Self, DbErr>;
}

impl ReadInOrder for course::Model {
    fn read_in_order(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        Ok(course::Model {
            id: r.read::<Uuid>()?,
            tenant_id: r.read()?,
            slug: r.read()?,
            title: r.read()?,
            summary: r.read()?,
            description: r.read()?,
            level: r.read_enum()?,
            format: r.read_enum()?,
            language: r.read()?,
            price_cents: r.read()?,
            currency: r.read()?,
            tax_rate_bp: r.read()?,
            status: r.read_enum()?,
            created_at: r.read()?,
            updated_at: r.read()?,
            next_start_at: r.read()?,
            search_text: r.read()?,
        })
    }
}

impl ReadInOrder for session::Model {
    fn read_in_order(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        Ok(session::Model {
            id: r.read()?,
            tenant_id: r.read()?,
            course_id: r.read()?,
            starts_at: r.read()?,
            ends_at: r.read()?,
            instructor_id: r.read()?,
            capacity: r.read()?,
            seats_taken: r.read()?,
            location: r.read()?,
            virtual_room: r.read()?,
            cancelled: r.read()?,
            created_at: r.read()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

    use super::*;

    #[tokio::test]
    async fn columns_are_read_in_order_and_a_reader_out_of_step_is_refused() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let sql = "SELECT 7 AS a, 'x' AS b, NULL AS c";
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
            .await
            .unwrap()
            .unwrap();
        let mut r = InOrder::new(&row);
        r.check_names(["a", "b", "c"]).unwrap();
        assert!(r.check_names(["a", "c"]).is_err(), "b read as c");
        assert!(r.check_names(["a", "b", "c", "d"]).is_err(), "no fourth column");
        assert_eq!(r.read::<i64>().unwrap(), 7);
        r.check_names(["b", "c"]).unwrap();
        assert_eq!(r.read::<String>().unwrap(), "x");
        assert_eq!(r.read::<Option<String>>().unwrap(), None);
        assert!(r.read::<i64>().is_err(), "past the last column");
        let rows = [row];
        let read = |r: &mut InOrder<'_>| r.read::<i64>();
        assert_eq!(read_rows(&rows, ["a", "b", "c"], read).unwrap(), [7]);
        assert!(read_rows(&rows, ["b"], read).is_err(), "a read as b");
    }
}
