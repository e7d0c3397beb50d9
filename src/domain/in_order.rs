//! Reading a statement's rows by position, for the few hot statements whose columns the code
//! lists itself (a catalogue page and its sessions).
//!
//! sea-orm's `FromQueryResult` finds each column by name: a hash of the name per column and
//! row, and for every NULL it reads, an error message formatted and dropped. On a catalogue
//! page (21 courses, 40 sessions, ~900 values) that was 21 % of the server's instructions
//! (`docs/BENCHMARKS.md`, eighth pass). [`InOrder`] reads the columns one after the other
//! straight from the driver's row.
//!
//! Each read names the column it expects ([`InOrder::read`]), and on a result's first row the
//! name is checked against the statement's column at that position (the names are the same on
//! every row): a statement and its reader that fall out of step, or a reader whose fields are
//! read in another order than the statement's columns, fail with a clear error, never with a
//! value read from the wrong column.
//!
//! Types are checked as the driver's `try_get` checks them, except that PostgreSQL's are
//! checked once per result too: PostgreSQL types a result's columns once for all its rows (its
//! row description), and `try_get` built and compared a list of compatible types for every
//! value (about 5 % of a page's instructions). The first row's columns are checked against their
//! declared types, NULL or not; later rows are decoded without the check. SQLite types each
//! value, not the column: every value is checked there, as `try_get` does.

use sea_orm::sqlx::{self, Postgres, Row, Sqlite};
use sea_orm::{ActiveEnum, DbErr, IdenStatic, QueryResult};

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
    /// The first row of its result: names (and PostgreSQL's types) are checked on it.
    first: bool,
}

impl<'r> InOrder<'r> {
    /// A row read on its own, or the first row of a result: every column is checked.
    pub fn new(row: &'r QueryResult) -> Self {
        InOrder { row, at: 0, first: true }
    }

    /// A later row of a result whose first row was read through [`InOrder::new`].
    fn after_first(row: &'r QueryResult) -> Self {
        InOrder { row, at: 0, first: false }
    }

    /// The next column's value; the column is `name` (checked on a result's first row).
    pub fn read<T: Decoded>(&mut self, name: &str) -> Result<T, DbErr> {
        let at = self.at;
        self.at += 1;
        let read = if let Some(row) = self.row.try_as_pg_row() {
            if self.first {
                let declared = sqlx::Column::type_info(named(row.columns(), at, name)?);
                if !<T as sqlx::Type<Postgres>>::compatible(declared) {
                    return Err(DbErr::Type(format!(
                        "column {at} ({name}) is {declared}, read as {}",
                        std::any::type_name::<T>()
                    )));
                }
            }
            row.try_get_unchecked::<T, _>(at)
        } else if let Some(row) = self.row.try_as_sqlite_row() {
            if self.first {
                named(row.columns(), at, name)?;
            }
            row.try_get::<T, _>(at)
        } else {
            return Err(DbErr::Type("a row of neither PostgreSQL nor SQLite".into()));
        };
        read.map_err(|e| DbErr::Type(format!("column {at} ({name}): {e}")))
    }

    /// The next column, a vocabulary stored as its string.
    pub fn read_enum<E: ActiveEnum<Value = String>>(&mut self, name: &str) -> Result<E, DbErr> {
        E::try_from_value(&self.read::<String>(name)?)
    }
}

/// The column at `at`, if it is named `name`.
fn named<'c, C: sqlx::Column>(columns: &'c [C], at: usize, name: &str) -> Result<&'c C, DbErr> {
    match columns.get(at) {
        Some(column) if column.name() == name => Ok(column),
        found => Err(DbErr::Type(format!(
            "column {at} is {:?}, read as {name:?}",
            found.map(sqlx::Column::name)
        ))),
    }
}

/// Every row of a result through `read`, its names (and PostgreSQL's types) checked on the first
/// row (the names and a PostgreSQL column's type are the same on every row of a result). `read`
/// reads the same columns as the same types on every row, as a model's reader does: what it
/// reads on later rows only is not checked.
pub fn read_rows<T>(
    rows: &[QueryResult],
    read: impl Fn(&mut InOrder<'_>) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let Some((first, later)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    let mut read_all = Vec::with_capacity(rows.len());
    read_all.push(read(&mut InOrder::new(first))?);
    for row in later {
        read_all.push(read(&mut InOrder::after_first(row))?);
    }
    Ok(read_all)
}

/// A model read from consecutive columns, each named as its entity names it.
pub trait ReadInOrder: Sized {
    fn read_in_order(row: &mut InOrder<'_>) -> Result<Self, DbErr>;
}

impl ReadInOrder for course::Model {
    fn read_in_order(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        use course::Column as C;
        Ok(course::Model {
            id: r.read(C::Id.as_str())?,
            tenant_id: r.read(C::TenantId.as_str())?,
            slug: r.read(C::Slug.as_str())?,
            title: r.read(C::Title.as_str())?,
            summary: r.read(C::Summary.as_str())?,
            description: r.read(C::Description.as_str())?,
            level: r.read_enum(C::Level.as_str())?,
            format: r.read_enum(C::Format.as_str())?,
            language: r.read(C::Language.as_str())?,
            price_cents: r.read(C::PriceCents.as_str())?,
            currency: r.read(C::Currency.as_str())?,
            tax_rate_bp: r.read(C::TaxRateBp.as_str())?,
            status: r.read_enum(C::Status.as_str())?,
            created_at: r.read(C::CreatedAt.as_str())?,
            updated_at: r.read(C::UpdatedAt.as_str())?,
            next_start_at: r.read(C::NextStartAt.as_str())?,
            search_text: r.read(C::SearchText.as_str())?,
        })
    }
}

impl ReadInOrder for session::Model {
    fn read_in_order(r: &mut InOrder<'_>) -> Result<Self, DbErr> {
        use session::Column as C;
        Ok(session::Model {
            id: r.read(C::Id.as_str())?,
            tenant_id: r.read(C::TenantId.as_str())?,
            course_id: r.read(C::CourseId.as_str())?,
            starts_at: r.read(C::StartsAt.as_str())?,
            ends_at: r.read(C::EndsAt.as_str())?,
            instructor_id: r.read(C::InstructorId.as_str())?,
            capacity: r.read(C::Capacity.as_str())?,
            seats_taken: r.read(C::SeatsTaken.as_str())?,
            location: r.read(C::Location.as_str())?,
            virtual_room: r.read(C::VirtualRoom.as_str())?,
            cancelled: r.read(C::Cancelled.as_str())?,
            created_at: r.read(C::CreatedAt.as_str())?,
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
        assert!(InOrder::new(&row).read::<i64>("b").is_err(), "a read as b");
        let mut r = InOrder::new(&row);
        assert_eq!(r.read::<i64>("a").unwrap(), 7);
        assert!(r.read::<String>("c").is_err(), "b read as c");
        let mut r = InOrder::new(&row);
        assert_eq!(r.read::<i64>("a").unwrap(), 7);
        assert_eq!(r.read::<String>("b").unwrap(), "x");
        assert_eq!(r.read::<Option<String>>("c").unwrap(), None);
        assert!(r.read::<i64>("d").is_err(), "past the last column");
        let rows = [row];
        assert_eq!(read_rows(&rows, |r| r.read::<i64>("a")).unwrap(), [7]);
        assert!(read_rows(&rows, |r| r.read::<i64>("b")).is_err(), "a read as b");
    }
}
