"""DataFrame to bytes: per-dtype formatters, then the encoder (chunks, gzip, file format)."""
