use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};

use crate::helpers::db;

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
    #[diesel(sql_type = Nullable<Text>)]
    column_default: Option<String>,
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct IndexColumns {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = BigInt)]
    non_unique: i64,
}

async fn snapshot(conn: &mut AsyncMysqlConnection, name: &str) -> (Vec<Column>, Vec<IndexColumns>) {
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, COLUMN_TYPE AS column_type, IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )
    .bind::<Text, _>(name)
    .load(conn)
    .await
    .expect("columns");
    let indexes: Vec<IndexColumns> = diesel::sql_query(
        "SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, \
         GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS columns, CAST(MAX(NON_UNIQUE) AS SIGNED) AS non_unique \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME, INDEX_NAME ORDER BY TABLE_NAME, INDEX_NAME",
    )
    .bind::<Text, _>(name)
    .load(conn)
    .await
    .expect("indexes");
    (columns, indexes)
}

#[actix_web::test]
async fn migrations_applied_again_change_nothing_and_revert_cleanly() {
    let name = db::private(false).await;
    let url = db::database_url(&name);
    let first = mayday::db::pool::run_migrations(&url).await.expect("first run");
    assert_eq!(first, mayday::db::pool::migration_names(), "every migration applied, in order");
    let mut conn = AsyncMysqlConnection::establish(&url).await.expect("connect");
    let before = snapshot(&mut conn, &name).await;
    assert!(!before.0.is_empty());
    let second = mayday::db::pool::run_migrations(&url).await.expect("second run");
    assert!(second.is_empty(), "nothing left to apply: {second:?}");
    assert_eq!(snapshot(&mut conn, &name).await, before, "a second run leaves the schema unchanged");
    // Down then up gives the same schema back.
    mayday::db::pool::revert_all_migrations(&url).await.expect("revert");
    let (cols, _) = snapshot(&mut conn, &name).await;
    assert!(
        cols.iter().all(|c| c.table_name == "__diesel_schema_migrations"),
        "down.sql drops everything: {:?}",
        cols.iter().map(|c| &c.table_name).collect::<std::collections::BTreeSet<_>>()
    );
    mayday::db::pool::run_migrations(&url).await.expect("up again");
    assert_eq!(snapshot(&mut conn, &name).await, before, "down + up is the identity");
    db::drop_database(&name).await;
}

#[actix_web::test]
async fn no_table_has_two_indexes_on_the_same_columns() {
    let name = db::private(true).await;
    let mut conn = AsyncMysqlConnection::establish(&db::database_url(&name)).await.expect("connect");
    let (_, indexes) = snapshot(&mut conn, &name).await;
    assert!(indexes.len() > 5, "indexes were read: {indexes:?}");
    let mut seen = std::collections::HashMap::new();
    for ix in &indexes {
        if let Some(other) = seen.insert((ix.table_name.clone(), ix.columns.clone()), ix.index_name.clone()) {
            panic!("{}: indexes {} and {} both cover ({})", ix.table_name, other, ix.index_name, ix.columns);
        }
    }
    // Every non-primary index has an explicit name (not MariaDB's column-derived default).
    for ix in indexes.iter().filter(|i| i.index_name != "PRIMARY" && i.table_name != "__diesel_schema_migrations") {
        let derived = ix.columns.split(',').next().unwrap_or_default();
        assert_ne!(ix.index_name, derived, "{}: index {} has a default name", ix.table_name, ix.index_name);
    }
    db::drop_database(&name).await;
}
