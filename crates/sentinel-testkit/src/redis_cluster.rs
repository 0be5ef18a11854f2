//! TODO(redis_cluster): being written.
