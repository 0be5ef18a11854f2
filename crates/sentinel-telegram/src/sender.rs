//! TODO(sender): being written.
