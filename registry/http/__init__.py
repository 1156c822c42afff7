"""HTTP plumbing shared by the API and the pages: middlewares, logs, metrics, request budgets, live
status, and the status of each registry error."""
