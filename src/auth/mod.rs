//! Authentication building blocks: password hashing, access tokens, Redis sessions and
//! login rate limits. The HTTP extractor that puts them together lives in `http::extract`.

pub mod password;
pub mod rate_limit;
pub mod session;
pub mod token;

pub use password::{PasswordHasher, Verified};
pub use session::{Session, SessionStore};
pub use token::{Claims, TokenKeys};
