//! sentinel-storage-redis (placeholder).
