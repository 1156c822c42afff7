"""The Content-Security-Policy of every page; console pages widen `frame-ancestors` per organisation."""

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
