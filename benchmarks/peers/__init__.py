"""The same jobs as the library's, written with pydantic v2 and with msgspec (dev-only)."""
