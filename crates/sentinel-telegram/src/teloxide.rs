//! TODO(teloxide): being written.
