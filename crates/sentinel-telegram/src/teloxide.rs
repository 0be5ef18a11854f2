//! The teloxide adapter.

mod extract;
