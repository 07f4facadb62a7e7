"""Hotline controller: the I/O shell (AMI client, storage, web, CLI)."""
