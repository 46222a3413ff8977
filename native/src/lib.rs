//! wardstream's native core. The logic lives in plain Rust modules that `cargo test`
//! covers without Python; `python` (the PyO3 layer, feature `python`) only converts.

pub mod audit;
pub mod consent;
pub mod lane;
pub mod locate;
pub mod profile;
pub mod quarantined;
pub mod read;
pub mod schema;
pub mod shape;
pub mod store;
pub mod walk;
pub mod wire;
pub mod words;

#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod python_store;
