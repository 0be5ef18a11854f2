//! telemon-alerts (placeholder).
