//! TODO(redis_server): being written.
