"""CRM backends, lookup cache and screen-pop payloads."""
