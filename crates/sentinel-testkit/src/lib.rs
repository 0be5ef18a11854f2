//! sentinel-testkit (placeholder).
