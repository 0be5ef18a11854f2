//! sentinel facade.
