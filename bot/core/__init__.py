"""The conversation, independent of any channel: dialog engine, profiles, leads and the outbox."""
