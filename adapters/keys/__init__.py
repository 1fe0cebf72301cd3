"""API keys: generated secrets kept only as SHA-256 digests in a 0600 key file, re-read by
running servers when it changes (`tokens`, `keyfile`, `ring`)."""
