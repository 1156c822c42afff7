"""The database: engine and sessions, the request's unit of work, plain SQL batches, backups."""
