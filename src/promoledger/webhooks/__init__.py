"""The webhook dispatcher: delivers the outbox to webhook endpoints (see docs/events.md)."""
