//! Database access: the pool and migrations, the generated schema, the row models and one
//! repository module per table group. Repositories only run queries; every function that
//! touches tenant data takes the tenant and filters on it.

pub mod asterisk;
pub mod models;
pub mod pool;
pub mod repos;
pub mod schema;

pub use pool::{DbConn, DbPool};

diesel::define_sql_function! {
    /// The id of the row the connection inserted last (MariaDB has no RETURNING on INSERT
    /// through diesel's MySQL backend).
    fn last_insert_id() -> diesel::sql_types::Unsigned<diesel::sql_types::BigInt>;
}

/// A page request: 1-based page number and size (bounded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 200;

    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Self {
        Page { page: page.unwrap_or(1).max(1), per_page: per_page.unwrap_or(50).clamp(1, Self::MAX_PER_PAGE) }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
}

/// One page of results and the total count.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Paged<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

/// `%text%` for LIKE, with the wildcards in `text` escaped.
pub fn like_pattern(text: &str) -> String {
    format!("%{}", like_prefix(text))
}

/// `text%` for LIKE (starts with), with the wildcards in `text` escaped.
pub fn like_prefix(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
