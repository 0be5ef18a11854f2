//! sentinel-storage-memory (placeholder).
