"""Storage behind small Protocols: jobs (SQLite, PostgreSQL), blobs (local, S3), events (memory, Redis)."""
