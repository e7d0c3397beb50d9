//! Grouping the rows of one batch query by the id they belong to.
//!
//! The batch readers (`sessions_of`, `lessons_of`, `invoices_of`, …) load the rows of many
//! parents in one query and hand back a map from parent id to its rows; [`group`] is that last
//! step, written once. It keeps the query's order within each group (so an `ORDER BY` still
//! holds per parent) and adds no entry for a parent without rows: callers that need one add it
//! themselves. It never queries anything.

use std::collections::HashMap;
use std::hash::Hash;

/// Groups `rows` by key, in their order: `split` turns each row into its key and the value to
/// keep (the row itself, or one of its columns).
///
/// `group(sessions, |s| (s.course_id, s))` gives each course its sessions.
pub fn group<T, K: Hash + Eq, V>(
    rows: impl IntoIterator<Item = T>,
    split: impl Fn(T) -> (K, V),
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for row in rows {
        let (key, value) = split(row);
        map.entry(key).or_default().push(value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn rows_are_grouped_by_key_in_their_order() {
        let rows = [(1, "a"), (2, "b"), (1, "c"), (3, "d"), (1, "e")];

        let grouped = group(rows, |(k, v)| (k, v));

        assert_eq!(grouped.len(), 3);
        assert_eq!(grouped[&1], ["a", "c", "e"]);
        assert_eq!(grouped[&2], ["b"]);
        assert_eq!(grouped[&3], ["d"]);
    }

    #[test]
    fn the_value_kept_can_be_a_column_of_the_row() {
        let rows = [("course-1", "rust"), ("course-2", "sql"), ("course-1", "web")];

        let grouped = group(rows, |(course, tag)| (course, tag.len()));

        assert_eq!(grouped["course-1"], [4, 3]);
        assert_eq!(grouped["course-2"], [3]);
    }

    #[test]
    fn no_rows_give_no_groups() {
        let grouped = group(Vec::<(u8, u8)>::new(), |r| r);

        assert!(grouped.is_empty());
    }
}
