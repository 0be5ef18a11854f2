//! TODO(fake_bot_api): being written.
