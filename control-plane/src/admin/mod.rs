//! The admin side of the control plane: its HTTP API (token required) and the client
//! the `miroir` subcommands use to talk to it.

pub mod api;
pub mod client;
pub mod views;

pub use api::{router, AdminState};
pub use views::render_status;
