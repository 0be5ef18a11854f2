//! TODO(split): being written.
