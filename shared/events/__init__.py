"""Event sourcing plumbing: envelope, hash chain, store, outbox relay, consumers."""
