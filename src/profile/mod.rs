//! Permission profiles: the YAML model, loading with `extends`, and path expansion.

pub mod cmd;
pub mod expand;
pub mod load;
pub mod model;

pub use load::{resolve, ProfileError, Resolved, Source};
#[allow(unused_imports)]
pub use model::Profile;
