//! Helpers shared by the migrations (they only build statements; changing them never changes
//! a shipped migration's schema).

use sea_orm_migration::prelude::*;

/// A foreign key `table.col → to.id`, deleting with its parent.
pub fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, col).to(to, "id").on_delete(ForeignKeyAction::Cascade).take()
}

/// An index named `name` on `table (cols…)`.
pub fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.take()
}
