//! sentinel-telegram (placeholder).
