"""Recording policy and metadata (policy parts are pure)."""
