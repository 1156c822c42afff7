"""Background work: the worker's rounds, the e-mail outbox and webhook deliveries."""
