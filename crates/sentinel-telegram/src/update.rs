//! TODO(update): being written.
