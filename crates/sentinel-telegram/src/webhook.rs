//! TODO(webhook): being written.
