//! TODO(conformance): being written.
