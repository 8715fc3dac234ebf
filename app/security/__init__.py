"""API keys and the encryption of stored PSA credentials."""
